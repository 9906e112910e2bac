/* ValueLab annotation dashboard: draws the label distribution (stacked bars per dimension) and
   the item map (PCA scatter by source) from <script id="dashboard-charts"> JSON, and redraws
   them in place whenever htmx swaps in fresh figures. The Chart.js setup (defaults, palette,
   drawing) is the project's static/js/charts.js. Data only: nothing becomes markup. */
(function () {
  "use strict";
  var LABEL_COLOURS = { "-1": "#b3261e", "0": "#b8bfc9", "1": "#1f7a4d" };

  function distributionChart(data) {
    return valuelabCharts.spec({
      type: "bar", stacked: true, y: "annotations", labels: data.distribution.labels,
      series: data.distribution.series.map(function (series) {
        return { label: series.label, values: series.values, colour: LABEL_COLOURS[series.key] };
      })
    });
  }

  function mapChart(data) {
    var axes = data.map.explained || [0, 0];
    function axis(name, share) {
      return { title: { display: true, text: name + " (" + Math.round(share * 100) + "%)" } };
    }
    return {
      type: "scatter",
      data: {
        datasets: data.map.datasets.map(function (dataset, index) {
          var colour = valuelabCharts.colour(index);
          return { label: dataset.label, data: dataset.data, backgroundColor: colour,
                   borderColor: colour, pointRadius: 2.5 };
        })
      },
      options: { scales: { x: axis("PC1", axes[0]), y: axis("PC2", axes[1]) } }
    };
  }

  function draw() {
    if (typeof valuelabCharts === "undefined") { return; }
    var data = valuelabCharts.readJson("dashboard-charts");
    if (!data) { return; }
    valuelabCharts.render(document.getElementById("distribution-chart"), distributionChart(data));
    valuelabCharts.render(document.getElementById("map-chart"), mapChart(data));
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && event.target.id === "dashboard-live") { draw(); }
  });
})();
