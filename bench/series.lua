-- wrk script used by bench/series.sh: GET with the bearer token.
--
-- Environment: BENCH_TOKEN (an access token).
-- Prints the BENCH_RESULT line of wrk.lua (status_errors counts responses >= 400).

wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")
wrk.headers["Accept"] = "application/json"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%.0f duration_us=%.0f p50_us=%.0f p99_us=%.0f max_us=%.0f status_errors=%.0f socket_errors=%.0f\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
