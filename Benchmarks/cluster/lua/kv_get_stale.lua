-- kv-node stale read: GET /kv/{key}?consistency=stale, served from the node's local state.
local C = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")
local requests
setup = C.setup
function init(args)
   requests = C.prepare_requests("GET", function(n) return "/kv/" .. C.key(n) .. "?consistency=stale" end)
end
function request()
   return requests[math.random(#requests)]
end
done = C.done
