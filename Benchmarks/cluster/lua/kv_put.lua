-- kv-node write: PUT /kv/{key} {"value": 100 bytes} on a random key of 10,000.
local C = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")
local requests
local body = '{"value":"' .. C.value .. '"}'
setup = C.setup
function init(args)
   requests = C.prepare_requests("PUT", function(n) return "/kv/" .. C.key(n) end,
                                 {["Content-Type"] = "application/json"}, function() return body end)
end
function request()
   return requests[math.random(#requests)]
end
done = C.done
