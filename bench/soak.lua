-- The four WORKLOAD routes in turn (shared/bench/WORKLOAD.md), for bench/soak.py.
-- Each wrk thread builds the requests once and cycles through them.
local requests = {}
local i = 0

init = function(args)
  local order = '{"symbol":"BTC-USD","side":"buy","qty":0.5,"price":43250.5}'
  requests[1] = wrk.format("GET", "/json")
  requests[2] = wrk.format("GET", "/prices")
  requests[3] = wrk.format("POST", "/order", {["Content-Type"] = "application/json"}, order)
  requests[4] = wrk.format("GET", "/users/42?fields=name")
end

request = function()
  i = i % #requests + 1
  return requests[i]
end
