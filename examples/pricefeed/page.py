"""The live page at ``/``: a table of prices kept current by the SSE stream.

Plain HTML and a few lines of script, no library: an ``EventSource`` on
``/sse/ticks`` (which reconnects by itself), each tick written into its
instrument's row. ``document.body.dataset.ticks`` counts the ticks shown.
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fastcore price feed</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 46rem; color: #222; }
  h1 { font-size: 1.4rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { padding: .35rem .6rem; border-bottom: 1px solid #ddd; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  td.price { font-variant-numeric: tabular-nums; }
  tr.up td.price { color: #0a7d32; }
  tr.down td.price { color: #b3261e; }
  p.state { color: #666; font-size: .9rem; }
</style>
</head>
<body data-ticks="0">
<h1>Price feed</h1>
<p class="state" id="state">connecting…</p>
<table>
  <thead><tr><th>Symbol</th><th>Bid</th><th>Ask</th><th>Price</th></tr></thead>
  <tbody id="rows"></tbody>
</table>
<p class="state">Also here: <a href="/instruments">/instruments</a>, <a href="/docs">/docs</a>,
<a href="/metrics">/metrics</a>; WebSocket <code>/ws/ticks</code>, SSE <code>/sse/ticks</code>.</p>
<script>
(function () {
  var rows = document.getElementById("rows");
  var state = document.getElementById("state");
  var seen = 0;

  function row(symbol) {
    var found = document.getElementById("row-" + symbol);
    if (found) { return found; }
    var tr = document.createElement("tr");
    tr.id = "row-" + symbol;
    tr.dataset.symbol = symbol;
    ["symbol", "bid", "ask", "price"].forEach(function (name) {
      var td = document.createElement("td");
      td.className = name;
      tr.appendChild(td);
    });
    tr.firstChild.textContent = symbol;
    rows.appendChild(tr);
    return tr;
  }

  function show(tick) {
    var tr = row(tick.symbol);
    var cell = tr.querySelector(".price");
    var before = parseFloat(cell.textContent);
    tr.className = isNaN(before) || before === tick.price ? "" : (tick.price > before ? "up" : "down");
    tr.querySelector(".bid").textContent = tick.bid;
    tr.querySelector(".ask").textContent = tick.ask;
    cell.textContent = tick.price;
    seen += 1;
    document.body.dataset.ticks = String(seen);
  }

  var source = new EventSource("/sse/ticks");
  source.onopen = function () { state.textContent = "live"; };
  source.onerror = function () { state.textContent = "reconnecting…"; };
  source.onmessage = function (event) { show(JSON.parse(event.data)); };
})();
</script>
</body>
</html>
"""
