-- wrk script for bench/load.py: counts responses whose status is not 2xx (wrk's own
-- count lets 3xx pass) and prints one JSON line with everything the benchmark reads.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   not_2xx = 0
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      not_2xx = not_2xx + 1
   end
end

function done(summary, latency, requests)
   local bad = 0
   for _, thread in ipairs(threads) do
      bad = bad + thread:get("not_2xx")
   end
   local e = summary.errors
   io.write(string.format(
      "LOAD_JSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"connect\":%d,"
         .. "\"read\":%d,\"write\":%d,\"timeout\":%d,\"not_2xx\":%d,"
         .. "\"p50_us\":%d,\"p99_us\":%d,\"max_us\":%d}\n",
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
      e.timeout, bad, latency:percentile(50), latency:percentile(99), latency.max))
end
