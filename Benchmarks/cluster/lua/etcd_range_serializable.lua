-- etcd serializable read: POST /v3/kv/range {"key": b64, "serializable": true}, served from
-- the member's local state like kv-node's ?consistency=stale.
local C = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")
local requests
setup = C.setup
function init(args)
   requests = C.prepare_requests("POST", function() return "/v3/kv/range" end, {["Content-Type"] = "application/json"},
                                 function(n) return '{"key":"' .. C.base64(C.key(n)) .. '","serializable":true}' end)
end
function request()
   return requests[math.random(#requests)]
end
done = C.done
