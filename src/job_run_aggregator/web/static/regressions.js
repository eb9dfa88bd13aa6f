// Regressions on the dashboard (web/regressions.py):
// - trend page: a dashed vertical line on the day of each change point in the page's data.changes (a Chart.js
//   plugin; this file loads before dashboard.js, so the plugin is registered before the chart is created);
// - overview: after the heat map has loaded, /regressions.json for the same release and window is fetched and
//   the cells that got worse are marked (class "regressed"), so the page never waits for the detection.
(function () {
  "use strict";
  var block = document.getElementById("page-data");
  if (!block) { return; }
  var data = JSON.parse(block.textContent);
  var page = document.body.getAttribute("data-page");

  function trendMarkers() {
    if (typeof Chart === "undefined" || !data.changes || !data.changes.length) { return; }
    Chart.register({
      id: "changePoints",
      afterDatasetsDraw: function (chart) {
        if (chart.canvas.id !== "trend-chart") { return; }
        var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx, drawn = 0;
        data.changes.forEach(function (c) {
          var index = chart.data.labels.indexOf(c.day);
          if (index < 0) { return; }
          var at = x.getPixelForValue(index);
          ctx.save();
          ctx.strokeStyle = c.Direction === "regression" ? "#b3261e" : "#1b7a36";
          ctx.fillStyle = ctx.strokeStyle;
          ctx.lineWidth = 2;
          ctx.setLineDash([6, 4]);
          ctx.beginPath();
          ctx.moveTo(at, area.top);
          ctx.lineTo(at, area.bottom);
          ctx.stroke();
          ctx.setLineDash([]);
          ctx.font = "11px system-ui, sans-serif";
          ctx.fillText((c.Direction === "regression" ? "worse from " : "better from ") + c.ChangeTime.slice(5, 16).replace("T", " "), at + 4, area.top + 12);
          ctx.restore();
          drawn += 1;
        });
        chart.canvas.setAttribute("data-changes", String(drawn));
      }
    });
  }

  function heatMarks() {
    var table = document.getElementById("heat-map");
    if (!table || !data.filters || !data.window) { return; }
    var query = new URLSearchParams({ days: String(data.window.days), now: data.filters.now || data.window.end });
    if (data.filters.release && data.filters.release !== "all") { query.set("release", data.filters.release); }
    fetch("/regressions.json?" + query.toString(), { headers: { accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { items: [] }; })
      .then(function (found) {
        var marked = 0;
        (found.items || []).forEach(function (item) {
          if (item.Direction !== "regression") { return; }
          table.querySelectorAll("td.cell").forEach(function (td) {
            if (td.dataset.backend === item.Name && td.dataset.variant === item.variant_key) {
              td.classList.add("regressed");
              var since = "got worse from " + item.ChangeTime.slice(0, 16).replace("T", " ") + " UTC";
              td.title += " · " + since;
              // The mark is drawn with CSS (::after), which screen readers may skip: say it in the link's label.
              var link = td.querySelector("a[aria-label]");
              if (link) { link.setAttribute("aria-label", link.getAttribute("aria-label") + "; " + since); }
              marked += 1;
            }
          });
        });
        var key = document.querySelector(".legend .regressed-key");
        if (key && marked) { key.hidden = false; }
        table.setAttribute("data-regressed", String(marked));
      })
      .catch(function () { table.setAttribute("data-regressed", "error"); });
  }

  if (page === "trend") { trendMarkers(); }
  if (page === "overview") { heatMarks(); }
}());
