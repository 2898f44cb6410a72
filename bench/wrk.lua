-- wrk script used by bench/run.sh.
--
-- Environment (read by every wrk thread):
--   BENCH_TOKEN  optional; sent as "Authorization: Bearer <token>"
--   BENCH_BODY   optional JSON; when set the request becomes a POST with this body
--
-- At the end it prints one machine-readable line that run.sh parses:
--   BENCH_RESULT requests=… duration_us=… p50_us=… p99_us=… max_us=… status_errors=… socket_errors=…
-- (status_errors counts responses with a status >= 400; latencies are in microseconds.)

local token = os.getenv("BENCH_TOKEN")
local body = os.getenv("BENCH_BODY")

wrk.headers["Accept"] = "application/json"
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
if body ~= nil and body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%.0f duration_us=%.0f p50_us=%.0f p99_us=%.0f max_us=%.0f status_errors=%.0f socket_errors=%.0f\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
