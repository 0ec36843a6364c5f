-- The wrk script of bench/run-stays (wrk -s bench/wrk_stays.lua URL): every request is different.
--
-- Environment (read once per wrk thread):
--   BENCH_PLAN         the plan bench/prepare_stays.py wrote: lines "date D", "city C", "guests N", "stay JSON",
--                      "token T"
--   BENCH_MODE         search       GET /api/v1/availability, any check-in of the year, 3-7 nights, whole chain
--                      search_city  the same in the plan's city
--                      book         POST /api/v1/bookings: a random planned stay (free rooms left on each of its
--                                   nights when planned) with a random bench guest's token
--   BENCH_IDEMPOTENCY  1: each booking carries its own Idempotency-Key, as the app sends it
--   BENCH_RUN_ID       makes the Idempotency-Keys of this run unique (the warm-up is another run)
--
-- Prints wrk's report and one line for bench/report_stays.py, a superset of bench/wrk.lua's:
--   BENCH_JSON {"requests": ..., "rps": ..., "p50_ms": ..., "non_2xx": ..., "status_409": ..., "empty": ..., ...}
-- non_2xx counts every status outside 200-299 (409 included); status_409 the 409s among them (sold_out on a
-- booking); empty the 2xx searches that found no hotel ("[]").

local mode = os.getenv("BENCH_MODE") or "search"
local use_keys = os.getenv("BENCH_IDEMPOTENCY") == "1"
local run_id = os.getenv("BENCH_RUN_ID") or tostring(os.time())

local dates, stays, tokens = {}, {}, {}
local city, guests = "", "2"
for line in io.lines(os.getenv("BENCH_PLAN")) do
  local kind, rest = line:match("^(%S+) (.*)$")
  if kind == "date" then
    table.insert(dates, rest)
  elseif kind == "stay" then
    table.insert(stays, rest)
  elseif kind == "token" then
    table.insert(tokens, "Bearer " .. rest)
  elseif kind == "city" then
    city = rest
  elseif kind == "guests" then
    guests = rest
  end
end
if mode == "book" and (#stays == 0 or #tokens == 0) then
  error("BENCH_PLAN has no stays or no tokens")
end

-- Runs in the main Lua state, once per wrk thread: number the threads, keep them to read their counters in done().
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

-- Globals of each thread's own Lua state.
thread_id = 0
sent = 0
non_2xx = 0
status_409 = 0
empty = 0
first_bad_status = 0

function init(args)
  math.randomseed(os.time() * 100 + thread_id)
end

function request()
  sent = sent + 1
  if mode == "book" then
    local headers = {
      ["Authorization"] = tokens[math.random(#tokens)],
      ["Content-Type"] = "application/json",
    }
    if use_keys then
      headers["Idempotency-Key"] = string.format("bench-%s-%d-%d", run_id, thread_id, sent)
    end
    return wrk.format("POST", "/api/v1/bookings", headers, stays[math.random(#stays)])
  end
  local i = math.random(#dates - 7)
  local path = string.format("/api/v1/availability?check_in=%s&check_out=%s&guests=%s",
    dates[i], dates[i + math.random(3, 7)], guests)
  if mode == "search_city" then
    path = path .. "&city=" .. city
  end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
    if status == 409 then
      status_409 = status_409 + 1
    elseif first_bad_status == 0 then
      first_bad_status = status
    end
  elseif mode ~= "book" and body:sub(1, 2) == "[]" then
    empty = empty + 1
  end
end

function done(summary, latency, requests)
  local bad, conflicts, empties, first_bad = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non_2xx")
    conflicts = conflicts + thread:get("status_409")
    empties = empties + thread:get("empty")
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
    '"non_2xx": %d, "status_409": %d, "empty": %d, "first_bad_status": %d, ' ..
    '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    bad, conflicts, empties, first_bad,
    e.connect, e.read, e.write, e.timeout))
end
