// Change points on the trend chart: a dashed vertical line on the day of each change in the page's data.changes.
// Loaded before dashboard.js, so the plugin is registered before the trend chart is created.
(function () {
  "use strict";
  var block = document.getElementById("page-data");
  if (!block || typeof Chart === "undefined") { return; }
  var data = JSON.parse(block.textContent);
  if (!data.changes || !data.changes.length) { return; }
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
}());
