-- kv-node write: PUT /kv/{key} {"value": 100 bytes} on a random key of 10,000.
local C = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "common.lua")
local paths
local body = '{"value":"' .. C.value .. '"}'
setup = C.setup
function init(args)
   paths = C.prepare(function(n) return "/kv/" .. C.key(n) end)
end
function request()
   return wrk.format("PUT", paths[math.random(#paths)], {["Content-Type"] = "application/json"}, body)
end
done = C.done
