-- Loaded into every wrk run by bench/run.py: at the end, print one machine-readable line with the
-- figures the report needs (wrk's own --latency table has no p95). Latencies are in microseconds;
-- "status" counts non-2xx/3xx responses, the others are socket errors.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_STATS {"requests":%d,"duration_us":%d,"p50_us":%.0f,"p95_us":%.0f,"p99_us":%.0f,'
      .. '"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status))
end
