// Draws the page's charts from its own JSON (the <script id="page-data"> block, the same data as the .json twin).
(function () {
  "use strict";
  var block = document.getElementById("page-data");
  if (!block) { return; }
  var data = JSON.parse(block.textContent);
  var page = document.body.getAttribute("data-page");

  // Sortable tables: a button in each header cell; numbers sort as numbers, aria-sort tells the direction.
  function sortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      th.classList.add("sortable-th");
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        function key(row) {
          var text = (row.cells[index] ? row.cells[index].textContent : "").trim().replace(/\u2212/g, "-").replace(/[+%]/g, "");
          var number = parseFloat(text);
          return text !== "" && !isNaN(number) && /^-?[0-9.]+$/.test(text) ? number : text.toLowerCase();
        }
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          if (typeof x !== typeof y) { x = String(x); y = String(y); }
          return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
    table.setAttribute("data-sortable", "ready");
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), sortable);

  // A result of uploaded files has no address: save the page's own data (the JSON twin's content).
  var save = document.getElementById("save-json");
  if (save) {
    save.addEventListener("click", function () {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([block.textContent], { type: "application/json" }));
      link.download = page + "-result.json";
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  }
  if (typeof Chart === "undefined") { return; }
  Chart.defaults.animation = false;  // charts are complete as soon as they are drawn (and in screenshots)
  Chart.defaults.font.size = 11;
  var RED = "#c62828", ORANGE = "#ef8f00", BLUE = "#1f5fbf", GREY = "rgba(120,130,150,0.25)";

  function seconds(v) { return v === null || v === undefined ? "" : (Math.abs(v) < 10 ? v.toFixed(1) : v.toFixed(0)); }
  function when(ms) { return new Date(ms).toISOString().slice(0, 16).replace("T", " "); }
  function mark(canvas, points) { canvas.setAttribute("data-points", String(points)); }

  function trend() {
    var canvas = document.getElementById("trend-chart");
    if (!canvas || !data.days) { return; }
    var days = data.days.map(function (d) { return d.day; });
    function series(key) { return data.days.map(function (d) { return d[key]; }); }
    function flat(value) { return data.days.map(function () { return value; }); }
    var span = data.rolling > 1 ? " (" + data.rolling + "-day rolling)" : " (each day)";
    var sets = [
      { type: "line", label: "P99" + span, data: series("P99"), borderColor: RED, backgroundColor: RED, yAxisID: "y", spanGaps: false },
      { type: "line", label: "P95" + span, data: series("P95"), borderColor: ORANGE, backgroundColor: ORANGE, yAxisID: "y" },
      { type: "line", label: "P50" + span, data: series("P50"), borderColor: BLUE, backgroundColor: BLUE, yAxisID: "y" },
      { type: "bar", label: "runs that day", data: series("JobRuns"), backgroundColor: GREY, yAxisID: "runs" }
    ];
    if (data.history) {
      sets.push({ type: "line", label: "exported P99 " + seconds(data.history.P99) + " s", data: flat(data.history.P99), borderColor: RED, borderDash: [6, 4], pointRadius: 0, yAxisID: "y" });
      sets.push({ type: "line", label: "exported P95 " + seconds(data.history.P95) + " s", data: flat(data.history.P95), borderColor: ORANGE, borderDash: [6, 4], pointRadius: 0, yAxisID: "y" });
    }
    new Chart(canvas, {
      data: {
        labels: days,
        datasets: sets
      },
      options: {
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { beginAtZero: true, title: { display: true, text: "seconds of disruption" } },
          runs: { position: "right", beginAtZero: true, grid: { display: false }, title: { display: true, text: "runs" } }
        }
      }
    });
    mark(canvas, data.days.filter(function (d) { return d.JobRuns > 0; }).length);
  }

  function strip() {
    var canvas = document.getElementById("strip-chart");
    if (!canvas || !data.runs || !data.runs.length) { return; }
    var runs = data.runs;
    var points = runs.map(function (r) { return { x: Date.parse(r.StartTime), y: r.Seconds }; });
    var xs = points.map(function (p) { return p.x; });
    var first = Math.min.apply(null, xs), last = Math.max.apply(null, xs);
    var margin = Math.max((last - first) * 0.02, 3600e3);  // keep edge points whole; one run still gets a span
    var lo = first - margin, hi = last + margin;
    var short = hi - lo < 3 * 86400e3;  // a short span needs the hour on its ticks
    var sets = [{ type: "scatter", label: "runs", data: points, backgroundColor: "rgba(31,95,191,0.65)", pointRadius: 3.5, pointHoverRadius: 6 }];
    if (data.history) {
      sets.push({ type: "line", label: "P99 " + seconds(data.history.P99) + " s", data: [{ x: lo, y: data.history.P99 }, { x: hi, y: data.history.P99 }], borderColor: RED, borderDash: [6, 4], pointRadius: 0 });
      sets.push({ type: "line", label: "P95 " + seconds(data.history.P95) + " s", data: [{ x: lo, y: data.history.P95 }, { x: hi, y: data.history.P95 }], borderColor: ORANGE, borderDash: [6, 4], pointRadius: 0 });
    }
    new Chart(canvas, {
      data: { datasets: sets },
      options: {
        maintainAspectRatio: false,
        scales: {
          x: { type: "linear", min: lo, max: hi, ticks: { callback: function (v) { return when(v).slice(5, short ? 16 : 10); } } },
          y: { beginAtZero: true, title: { display: true, text: "seconds of disruption" } }
        },
        plugins: {
          tooltip: {
            filter: function (item) { return item.datasetIndex === 0; },
            callbacks: {
              label: function (item) {
                var r = runs[item.dataIndex];
                return r.Seconds + " s · run " + r.JobRunName + " · " + when(Date.parse(r.StartTime));
              }
            }
          }
        },
        onClick: function (event, elements) {
          var hit = elements.filter(function (e) { return e.datasetIndex === 0; })[0];
          if (hit) { window.location.href = runs[hit.index].folder_url; }
        }
      }
    });
    mark(canvas, points.length);
    box(document.getElementById("box-plot"));
  }

  // A horizontal box plot (min, quartiles, max) with the exported P95/P99 as ticks, in plain SVG.
  function box(svg) {
    var s = data.summary;
    if (!svg || !s || !s.count) { return; }
    var NS = "http://www.w3.org/2000/svg", W = Math.max(300, Math.round(svg.getBoundingClientRect().width)), H = 70, pad = 40;
    var top = Math.max(s.max, data.history ? data.history.P99 : 0) || 1;
    function x(v) { return pad + (W - 3 * pad) * v / top; }  // room on the right for the P99 label
    function add(tag, attrs, text) {
      var el = document.createElementNS(NS, tag);
      Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
      if (text !== undefined) { el.textContent = text; }
      svg.appendChild(el);
      return el;
    }
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    add("line", { x1: x(s.min), x2: x(s.max), y1: 30, y2: 30, stroke: "#555" });
    add("rect", { "class": "iqr", x: x(s.q1), y: 18, width: Math.max(1, x(s.q3) - x(s.q1)), height: 24, fill: "#cfe0f7", stroke: BLUE });
    add("line", { x1: x(s.median), x2: x(s.median), y1: 18, y2: 42, stroke: BLUE, "stroke-width": 3 });
    [s.min, s.max].forEach(function (v) { add("line", { x1: x(v), x2: x(v), y1: 24, y2: 36, stroke: "#555" }); });
    if (data.history) {
      // P95 labelled left of its line, P99 right of its own: close values stay readable.
      [[data.history.P95, "P95", ORANGE, "end", -3], [data.history.P99, "P99", RED, "start", 3]].forEach(function (p) {
        add("line", { x1: x(p[0]), x2: x(p[0]), y1: 10, y2: 50, stroke: p[2], "stroke-dasharray": "4 3", "stroke-width": 2 });
        add("text", { x: x(p[0]) + p[4], y: 62, fill: p[2], "font-size": 11, "text-anchor": p[3] }, p[1] + " " + seconds(p[0]) + " s");
      });
    }
    add("text", { x: pad, y: 12, fill: "#555", "font-size": 11 }, "median " + seconds(s.median) + " s, quartiles " + seconds(s.q1) + "–" + seconds(s.q3) + " s, max " + seconds(s.max) + " s");
    svg.setAttribute("data-points", String(s.count));
  }

  function compareChart() {
    var canvas = document.getElementById("compare-chart");
    if (!canvas || !data.changed || !data.changed.length) { return; }
    var rows = data.changed.slice(0, 40);
    canvas.parentNode.style.height = Math.max(160, 22 * rows.length + 90) + "px";  // one bar per row, readable
    function label(r) { return r.name + " " + r.Release + (r.FromRelease ? "←" + r.FromRelease : "") + " " + r.Platform + " " + r.Architecture + " " + r.Network + " " + r.Topology; }
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: rows.map(label),
        datasets: [{ label: "P99 change (s)", data: rows.map(function (r) { return r.P99_delta; }),
          backgroundColor: rows.map(function (r) { return r.P99_delta > 0 ? RED : "#2e7d32"; }) }]
      },
      options: {
        indexAxis: "y", maintainAspectRatio: false,
        scales: { x: { title: { display: true, text: "P99 new − current, seconds" } }, y: { ticks: { autoSkip: false, font: { size: 10 } } } },
        plugins: { legend: { display: false }, tooltip: { callbacks: { afterLabel: function (item) { return rows[item.dataIndex].P99_change_text; } } } }
      }
    });
    mark(canvas, rows.length);
  }

  if (page === "trend") { trend(); }
  if (page === "cell") { strip(); }
  if (page === "compare") { compareChart(); }
}());
