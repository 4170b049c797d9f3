-- wrk script for POST /items: the same pydantic body on every request, plus the stats line.
wrk.method = "POST"
wrk.body = '{"name":"widget","price":9.5,"tags":["a","b"]}'
wrk.headers["Content-Type"] = "application/json"

-- wrk_stats.lua sits next to this file; find it whatever the working directory is.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_stats.lua")
