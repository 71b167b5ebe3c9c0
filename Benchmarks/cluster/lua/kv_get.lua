-- kv-node linearizable read (the default): GET /kv/{key} on a random key of 10,000.
local C = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")
local paths
setup = C.setup
function init(args)
   paths = C.prepare(function(n) return "/kv/" .. C.key(n) end)
end
function request()
   return wrk.format("GET", paths[math.random(#paths)])
end
done = C.done
