-- wrk script for scrape-flood.mjs: each connection waits WRK_DELAY_MS between requests, so
-- -c<n> connections send at most n * 1000 / WRK_DELAY_MS requests a second (wrk has no rate option).
local ms = tonumber(os.getenv("WRK_DELAY_MS"))

delay = function()
  return ms
end
