-- wrk script used by bench/calendar_feed.sh: GET a calendar feed, optionally conditional.
--
-- Environment: BENCH_ETAG optional; sent as If-None-Match (the answers are then 304).
-- Prints the BENCH_RESULT line of wrk.lua (status_errors counts responses >= 400).

local etag = os.getenv("BENCH_ETAG")
wrk.headers["Accept"] = "text/calendar"
if etag ~= nil and etag ~= "" then
  wrk.headers["If-None-Match"] = etag
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%.0f duration_us=%.0f p50_us=%.0f p99_us=%.0f max_us=%.0f status_errors=%.0f socket_errors=%.0f\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
