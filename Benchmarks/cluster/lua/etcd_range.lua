-- etcd linearizable read (its default): POST /v3/kv/range {"key": b64}.
local C = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")
local requests
setup = C.setup
function init(args)
   requests = C.prepare_requests("POST", function() return "/v3/kv/range" end, {["Content-Type"] = "application/json"},
                                 function(n) return '{"key":"' .. C.base64(C.key(n)) .. '"}' end)
end
function request()
   return requests[math.random(#requests)]
end
done = C.done
