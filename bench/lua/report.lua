-- Shared by the scenario scripts: one machine-readable result line at the end of a run.
--
-- Each scenario script calls report.install() once; wrk then calls setup() per
-- thread and done() once, in the main Lua state, where per-thread counters are
-- read back with thread:get().  The runner parses the line that starts with
-- BENCH_RESULT; wrk's own --latency text stays above it for humans.

local report = {}
local threads = {}

local function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

local function done(summary, latency, _requests)
  local exhausted = 0
  for _, thread in ipairs(threads) do
    exhausted = exhausted + (thread:get("exhausted") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d},"exhausted":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max, exhausted))
end

function report.install()
  _G.setup = setup
  _G.done = done
end

-- Lines of a file, without empty ones.
function report.read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then table.insert(lines, line) end
  end
  if #lines == 0 then error("no tokens in " .. path) end
  return lines
end

return report
