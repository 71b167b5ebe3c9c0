-- etcd write through the v3 JSON gateway: POST /v3/kv/put {"key": b64, "value": b64}.
local C = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")
local requests
local value = C.base64(C.value)
setup = C.setup
function init(args)
   requests = C.prepare_requests("POST", function() return "/v3/kv/put" end, {["Content-Type"] = "application/json"},
                                 function(n) return '{"key":"' .. C.base64(C.key(n)) .. '","value":"' .. value .. '"}' end)
end
function request()
   return requests[math.random(#requests)]
end
done = C.done
