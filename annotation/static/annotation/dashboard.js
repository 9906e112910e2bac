/* ValueLab annotation dashboard: draws the label distribution (stacked bars per dimension) and
   the item map (PCA scatter by source) from <script id="dashboard-charts"> JSON, and redraws
   them in place whenever htmx swaps in fresh figures. Data only: nothing becomes markup. */
(function () {
  "use strict";
  var LABEL_COLOURS = { "-1": "#b3261e", "0": "#b8bfc9", "1": "#1f7a4d" };
  var SOURCE_COLOURS = ["#2f5fd0", "#d0702f", "#1f7a4d", "#8a5a00", "#7a1f6b", "#0f7c8c",
                        "#b3261e", "#5f6b7a", "#9c6ade"];
  var charts = {};

  function spec() {
    var source = document.getElementById("dashboard-charts");
    return source ? JSON.parse(source.textContent) : null;
  }

  function distributionData(data) {
    return {
      labels: data.distribution.labels,
      datasets: data.distribution.series.map(function (series) {
        return { label: series.label, data: series.values,
                 backgroundColor: LABEL_COLOURS[series.key] };
      })
    };
  }

  function mapData(data) {
    return {
      datasets: data.map.datasets.map(function (dataset, index) {
        var colour = SOURCE_COLOURS[index % SOURCE_COLOURS.length];
        return { label: dataset.label, data: dataset.data, backgroundColor: colour,
                 borderColor: colour, pointRadius: 2.5 };
      })
    };
  }

  function draw() {
    var data = spec();
    if (!data || typeof Chart === "undefined") { return; }
    var distribution = document.getElementById("distribution-chart");
    if (distribution) {
      if (charts.distribution) {
        charts.distribution.data = distributionData(data);
        charts.distribution.update("none");
      } else {
        charts.distribution = new Chart(distribution, {
          type: "bar", data: distributionData(data),
          options: { animation: false, responsive: true, maintainAspectRatio: false,
                     scales: { x: { stacked: true },
                               y: { stacked: true, title: { display: true, text: "annotations" } } } }
        });
      }
    }
    var map = document.getElementById("map-chart");
    if (map) {
      var axes = data.map.explained || [0, 0];
      if (charts.map) {
        charts.map.data = mapData(data);
        charts.map.update("none");
      } else {
        charts.map = new Chart(map, {
          type: "scatter", data: mapData(data),
          options: { animation: false, responsive: true, maintainAspectRatio: false,
                     scales: { x: { title: { display: true, text: "PC1 (" + Math.round(axes[0] * 100) + "%)" } },
                               y: { title: { display: true, text: "PC2 (" + Math.round(axes[1] * 100) + "%)" } } } }
        });
      }
    }
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && event.target.id === "dashboard-live") { draw(); }
  });
})();
