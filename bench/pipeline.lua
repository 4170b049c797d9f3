-- TechEmpower's plaintext load for bench/db.py: every connection sends its requests in batches of
-- `depth` pipelined GETs (wrk ... -s pipeline.lua URL -- 16), as TFB's own pipeline.lua does.
-- done() prints the same BENCH_STATS line as wrk_stats.lua (kept in step with it): latencies are
-- in microseconds, "status" counts non-2xx/3xx responses, the others are socket errors.
init = function(args)
  local depth = tonumber(args[1]) or 1
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format()
  end
  req = table.concat(r)
end

request = function()
  return req
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_STATS {"requests":%d,"duration_us":%d,"p50_us":%.0f,"p95_us":%.0f,"p99_us":%.0f,'
      .. '"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status))
end
