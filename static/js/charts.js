/* ValueLab charts: the one Chart.js setup every page shares (load it after
   vendor/chartjs/chart-4.6.1.umd.min.js, both deferred).

   - Defaults: no animation, the chart fills its .chart-box (responsive, no fixed aspect ratio).
   - PALETTE: the series colours, in order.
   - Each <canvas data-chart="ID"> draws the JSON that Django's json_script wrote into
     <script id="ID">, on load and again inside whatever htmx swaps in. The JSON is
     {"type": "bar"|"hbar"|"line", "labels": [...], "series": [{"label", "values", "colour"?}],
      "min"?, "max"?, "x"?, "y"?, "stacked"?, "legend"?} (the legend shows by default only
     for more than one series).
   - window.valuelabCharts.{spec, render, readJson, colour, drawAll} for pages that build their own.

   Data only: labels and values reach Chart.js as strings and numbers, never as markup. */
(function () {
  "use strict";
  var PALETTE = ["#2f5fd0", "#d0702f", "#1f7a4d", "#8a5a00", "#7a1f6b", "#0f7c8c",
                 "#b3261e", "#5f6b7a", "#9c6ade"];

  function ready() {
    if (typeof Chart === "undefined") { return false; }
    if (!ready.done) {
      Chart.defaults.animation = false;
      Chart.defaults.responsive = true;
      Chart.defaults.maintainAspectRatio = false;
      ready.done = true;
    }
    return true;
  }

  function colour(index) {
    return PALETTE[index % PALETTE.length];
  }

  function readJson(id) {
    var source = document.getElementById(id);
    return source ? JSON.parse(source.textContent) : null;
  }

  /* Return the Chart.js config for a bar, horizontal bar or line spec (see above). */
  function spec(chart) {
    var horizontal = chart.type === "hbar";
    var value = { min: chart.min, max: chart.max, stacked: !!chart.stacked,
                  title: { display: !!chart.y, text: chart.y || "" } };
    var category = { stacked: !!chart.stacked, title: { display: !!chart.x, text: chart.x || "" } };
    return {
      type: chart.type === "line" ? "line" : "bar",
      data: {
        labels: chart.labels,
        datasets: chart.series.map(function (series, index) {
          var seriesColour = series.colour || colour(index);
          return { label: series.label, data: series.values, backgroundColor: seriesColour,
                   borderColor: seriesColour, pointRadius: 2, tension: 0.2 };
        })
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        scales: horizontal ? { x: value, y: category } : { x: category, y: value },
        plugins: { legend: { display: chart.legend === undefined ? chart.series.length > 1
                                                                 : !!chart.legend } }
      }
    };
  }

  /* Draw ``config`` on ``canvas``; a chart already there of the same type is updated in place
     (no flicker when htmx refreshes the figures). Return the chart, or null without Chart.js. */
  function render(canvas, config) {
    if (!canvas || !ready()) { return null; }
    var chart = Chart.getChart(canvas);
    if (chart && chart.config.type === config.type) {
      chart.data = config.data;
      chart.options = config.options;
      chart.update("none");
    } else {
      if (chart) { chart.destroy(); }
      chart = new Chart(canvas, config);
    }
    canvas._chart = chart;  // pages and browser tests look for the chart here
    return chart;
  }

  function drawAll(root) {
    (root || document).querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var chart = readJson(canvas.dataset.chart);
      if (chart) { render(canvas, spec(chart)); }
    });
  }

  window.valuelabCharts = { PALETTE: PALETTE, colour: colour, readJson: readJson, spec: spec,
                            render: render, drawAll: drawAll };
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function (event) { drawAll(event.target); });
})();
