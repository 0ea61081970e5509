-- wrk script for lib/wrk.mjs `requests`: stop after WRK_REQUESTS responses instead of after a
-- duration. wrk's main thread sleeps for the whole -d whatever its threads do, so the script says
-- "wrk-stop-after: done" on stderr and lib/wrk.mjs answers with SIGINT, which ends wrk's sleep and
-- makes it report as usual. A few responses (< connections) may be in flight when the thread stops.
local seen = 0
local limit = tonumber(os.getenv("WRK_REQUESTS"))

response = function(status, headers, body)
  seen = seen + 1
  if seen == limit then
    io.stderr:write("wrk-stop-after: done\n")
    io.stderr:flush()
    wrk.thread:stop()
  end
end
