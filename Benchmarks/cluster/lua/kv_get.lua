-- kv-node linearizable read (the default): GET /kv/{key} on a random key of 10,000.
local C = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")
local requests
setup = C.setup
function init(args)
   requests = C.prepare_requests("GET", function(n) return "/kv/" .. C.key(n) end)
end
function request()
   return requests[math.random(#requests)]
end
done = C.done
