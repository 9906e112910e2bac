// The targets page: slider read-outs and the preset buttons (data from json_script).
document.addEventListener("DOMContentLoaded", function () {
  var presets = JSON.parse(document.getElementById("preset-vectors").textContent);
  function show(input) { document.getElementById("out-" + input.name).textContent = Number(input.value).toFixed(1); }
  document.querySelectorAll("#sliders input[type=range]").forEach(function (input) {
    input.addEventListener("input", function () { show(input); });
  });
  document.querySelectorAll(".load-preset").forEach(function (button) {
    button.addEventListener("click", function () {
      var vector = presets[button.dataset.preset];
      Object.keys(vector).forEach(function (key) {
        var input = document.getElementById("dim-" + key);
        if (input) { input.value = vector[key]; show(input); }
      });
      var name = document.getElementById("target-name");
      if (!name.value) { name.value = button.textContent.trim(); }
    });
  });
});
