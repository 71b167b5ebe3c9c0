-- kv-node stale read: GET /kv/{key}?consistency=stale, served from the node's local state.
local C = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")
local paths
setup = C.setup
function init(args)
   paths = C.prepare(function(n) return "/kv/" .. C.key(n) .. "?consistency=stale" end)
end
function request()
   return wrk.format("GET", paths[math.random(#paths)])
end
done = C.done
