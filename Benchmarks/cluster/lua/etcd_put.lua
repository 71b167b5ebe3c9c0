-- etcd write through the v3 JSON gateway: POST /v3/kv/put {"key": b64, "value": b64}.
local C = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")
local bodies
local value = C.base64(C.value)
setup = C.setup
function init(args)
   bodies = C.prepare(function(n)
      return '{"key":"' .. C.base64(C.key(n)) .. '","value":"' .. value .. '"}'
   end)
end
function request()
   return wrk.format("POST", "/v3/kv/put", {["Content-Type"] = "application/json"}, bodies[math.random(#bodies)])
end
done = C.done
