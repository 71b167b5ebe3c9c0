-- etcd linearizable read (its default): POST /v3/kv/range {"key": b64}.
local C = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")
local bodies
setup = C.setup
function init(args)
   bodies = C.prepare(function(n) return '{"key":"' .. C.base64(C.key(n)) .. '"}' end)
end
function request()
   return wrk.format("POST", "/v3/kv/range", {["Content-Type"] = "application/json"}, bodies[math.random(#bodies)])
end
done = C.done
