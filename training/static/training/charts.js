/* ValueLab training charts: each <canvas data-chart="ID"> draws the JSON in <script id="ID">.
   The JSON is {"type": "bar"|"line", "labels": [...], "series": [{"label", "values"}],
   "min"?, "max"?, "x"?, "y"?}. Data only: nothing from the JSON is ever inserted as markup. */
(function () {
  "use strict";
  var COLOURS = ["#2f5fd0", "#d0702f", "#1f7a4d", "#8a5a00", "#7a1f6b"];

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    if (canvas._chart) { canvas._chart.destroy(); }
    var horizontal = spec.type === "hbar";
    canvas._chart = new Chart(canvas, {
      type: spec.type === "line" ? "line" : "bar",
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (series, index) {
          var colour = series.colour || COLOURS[index % COLOURS.length];
          return { label: series.label, data: series.values, backgroundColor: colour,
                   borderColor: colour, pointRadius: 2, tension: 0.2 };
        })
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        indexAxis: horizontal ? "y" : "x",
        scales: (function () {
          var value = { min: spec.min, max: spec.max, title: { display: !!spec.y, text: spec.y || "" } };
          var category = { title: { display: !!spec.x, text: spec.x || "" } };
          return horizontal ? { x: value, y: category } : { x: category, y: value };
        })(),
        plugins: { legend: { display: spec.series.length > 1 } }
      }
    });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("canvas[data-chart]").forEach(draw);
  }
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function (event) { drawAll(event.target); });
  window.valuelabCharts = { drawAll: drawAll };
})();
