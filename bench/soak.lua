-- wrk script for bench/soak.py: every request takes the next of the demo's standard routes
-- (successes, a 418, a 404 and a 422 among them), plus the stats line of wrk_stats.lua.
local routes = {
  {"GET", "/json", nil},
  {"GET", "/json-async", nil},
  {"GET", "/json-large", nil},
  {"GET", "/items/42?q=hello", nil},
  {"GET", "/items/nope", nil},
  {"GET", "/search?q=x&limit=5&offset=2", nil},
  {"POST", "/items", '{"name":"widget","price":9.5,"tags":["a","b"]}'},
  {"POST", "/items", '{"name":"widget"}'},
  {"GET", "/bytes", nil},
  {"GET", "/teapot", nil},
  {"GET", "/missing", nil},
  {"GET", "/sleep", nil},
}
local i = 0
local json = {["Content-Type"] = "application/json"}
request = function()
  i = i % #routes + 1
  local r = routes[i]
  return wrk.format(r[1], r[2], r[3] and json or nil, r[3])
end

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_stats.lua")
