-- wrk script for bench/run: HTTP/1.1 pipelining as in TechEmpower's
-- plaintext test. init() builds DEPTH copies of the request (DEPTH is the
-- first script argument, default 16); request() returns them all, so each
-- write carries DEPTH requests. wrk's parser counts every response, so
-- summary.requests is the number of responses completed.
init = function(args)
   local depth = tonumber(args[1]) or 16
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format()
   end
   req = table.concat(r)
end

request = function()
   return req
end

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"p50_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%d,' ..
      '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(99), latency.max, latency.mean,
      e.connect, e.read, e.write, e.status, e.timeout))
end
