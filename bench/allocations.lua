-- wrk script for bench/allocations.sh: every request starts a new patient (a unique trial code per
-- run, thread and request) under one agreement.
--
-- Environment: BENCH_TOKEN, BENCH_RUN (a prefix unique to the run), BENCH_DRUG, BENCH_SITE,
-- BENCH_COHORT, BENCH_DATE (started_on). Prints the same BENCH_RESULT line as wrk.lua.

local token = os.getenv("BENCH_TOKEN")
local run = os.getenv("BENCH_RUN")
local drug = os.getenv("BENCH_DRUG")
local site = os.getenv("BENCH_SITE")
local cohort = os.getenv("BENCH_COHORT")
local date = os.getenv("BENCH_DATE")

local next_id = 0
function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end

local n = 0
function request()
  n = n + 1
  local body = string.format(
    '{"trial_code":"%s-%d-%d","drug_id":"%s","site_id":"%s","cohort_id":"%s","started_on":"%s"}',
    run, thread_id, n, drug, site, cohort, date)
  return wrk.format("POST", nil, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
  }, body)
end

-- The first refusal each thread sees, so a run that fails says why.
local shown = false
function response(status, headers, body)
  if status >= 400 and not shown then
    shown = true
    io.stderr:write(string.format("BENCH_REFUSED status=%d body=%s\n", status, body))
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%.0f duration_us=%.0f p50_us=%.0f p99_us=%.0f max_us=%.0f status_errors=%.0f socket_errors=%.0f\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
