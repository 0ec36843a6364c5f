-- One wrk script for every bench/run measurement (wrk -s bench/wrk.lua URL).
--
-- Environment (read once per wrk thread):
--   BENCH_BODY           a JSON body: the request becomes a POST with Content-Type application/json
--   BENCH_AUTHORIZATION  an Authorization header value ("Bearer <token>")
--   BENCH_IDEMPOTENCY    1: each request carries its own Idempotency-Key, as the app sends it
--   BENCH_RUN_ID         makes those keys unique to this run (the warm-up is another run)
--
-- Besides wrk's own report it prints one line for bench/report.py:
--   BENCH_JSON {"requests": ..., "duration_s": ..., "rps": ..., "p50_ms": ..., "non_2xx": ..., ...}
-- wrk itself only counts statuses >= 400 as errors; this script counts every status outside 200-299 (a 3xx
-- redirect would otherwise pass as success).

local body = os.getenv("BENCH_BODY")
if body ~= nil and body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization ~= nil and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end

-- Runs in the main Lua state, once per wrk thread: number the threads, keep them to read their counters in done().
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

if os.getenv("BENCH_IDEMPOTENCY") == "1" then
  local run_id = os.getenv("BENCH_RUN_ID") or tostring(os.time())
  local sent = 0
  function request()
    sent = sent + 1
    wrk.headers["Idempotency-Key"] = string.format("bench-%s-%d-%d", run_id, thread_id, sent)
    return wrk.format()
  end
end

-- Globals of each thread's own Lua state.
non_2xx = 0
first_bad_status = 0

function response(status, headers, response_body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
    if first_bad_status == 0 then
      first_bad_status = status
    end
  end
end

function done(summary, latency, requests)
  local bad, first_bad = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non_2xx")
    local status = thread:get("first_bad_status")
    if first_bad == 0 and status ~= 0 then
      first_bad = status
    end
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_s": %.3f, "rps": %.1f, ' ..
    '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f, ' ..
    '"non_2xx": %d, "first_bad_status": %d, ' ..
    '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    bad, first_bad,
    e.connect, e.read, e.write, e.timeout))
end
