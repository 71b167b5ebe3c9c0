-- Shared by every wrk script of the cluster benchmark: keys, values, base64 and the
-- summary line run.sh parses. Loaded with dofile() from the scripts beside it.
--
-- Keys are "k" + a zero-padded number, 16 bytes; values are 100 bytes. The scripts draw
-- from BENCH_KEYS distinct keys (10,000 by default), which cluster.py loads beforehand.

local M = {}

M.keyspace = tonumber(os.getenv("BENCH_KEYS") or "10000")
M.value = string.rep("v", 100)

function M.key(n)
   return string.format("k%015d", n)
end

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- etcd's JSON gateway takes bytes fields as standard base64.
function M.base64(s)
   local out = {}
   for i = 1, #s, 3 do
      local a, b, c = s:byte(i, i + 2)
      local n = a * 65536 + (b or 0) * 256 + (c or 0)
      local c1 = math.floor(n / 262144) % 64
      local c2 = math.floor(n / 4096) % 64
      local c3 = math.floor(n / 64) % 64
      local c4 = n % 64
      out[#out + 1] = alphabet:sub(c1 + 1, c1 + 1) .. alphabet:sub(c2 + 1, c2 + 1)
         .. (b and alphabet:sub(c3 + 1, c3 + 1) or "=") .. (c and alphabet:sub(c4 + 1, c4 + 1) or "=")
   end
   return table.concat(out)
end

-- Threads number themselves in setup() (runs in the main Lua state) so each one seeds its
-- own generator.
local next_thread = 0
function M.setup(thread)
   thread:set("thread_id", next_thread)
   next_thread = next_thread + 1
end

-- Precomputed request bodies / paths for the 10,000 random keys, so request() only picks one:
-- the load generator shares two cores with the cluster and must stay cheap.
function M.prepare(make)
   local list = {}
   for n = 0, M.keyspace - 1 do list[n + 1] = make(n) end
   math.randomseed(os.time() + (thread_id or 0) * 7919)
   return list
end

-- The whole request for each of the 10,000 keys, formatted once in init(), so request() is a
-- table lookup: wrk.format per request cost the load generator about a third of its CPU,
-- which on these two shared cores the servers under test would otherwise have had.
function M.prepare_requests(method, make_path, headers, make_body)
   return M.prepare(function(n)
      local h = {}
      for name, value in pairs(headers or {}) do h[name] = value end
      return wrk.format(method, make_path(n), h, make_body and make_body(n))
   end)
end

-- One line run.sh's Python helper parses. wrk counts a response with status >= 400 as a
-- "status" error; our endpoints never answer 1xx/3xx, so that is the non-2xx count.
function M.done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d non2xx=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f\n",
      summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end

return M
