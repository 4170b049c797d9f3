-- TechEmpower's plaintext load for bench/db.py: every connection sends its requests in batches of
-- `depth` pipelined GETs (wrk ... -s pipeline.lua URL -- 16), as TFB's own pipeline.lua does,
-- plus the stats line of wrk_stats.lua.
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

-- wrk_stats.lua sits next to this file; find it whatever the working directory is.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_stats.lua")
