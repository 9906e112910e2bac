// The PVQ-40 page: answers given so far survive a reload (kept in this tab until the form is
// sent; the server shows the sent answers again if it refuses them).
(function () {
  "use strict";
  var KEY = "valuelab:pvq:" + window.location.pathname;

  function storage() { try { return window.sessionStorage; } catch (error) { return null; } }

  function form() { return document.getElementById("pvq-form"); }

  function save() {
    var store = storage();
    if (!store || !form()) return;
    var answers = {};
    form().querySelectorAll("input[type=radio]:checked").forEach(function (input) {
      answers[input.name] = input.value;
    });
    try { store.setItem(KEY, JSON.stringify(answers)); } catch (error) { /* full or off */ }
  }

  function restore() {
    var store = storage();
    if (!store || !form()) return;
    var answers = {};
    try { answers = JSON.parse(store.getItem(KEY)) || {}; } catch (error) { answers = {}; }
    Object.keys(answers).forEach(function (name) {
      var group = form().querySelectorAll('input[type=radio][name="' + name + '"]');
      var chosen = Array.prototype.some.call(group, function (input) { return input.checked; });
      if (chosen) return;  // what the server shows wins
      group.forEach(function (input) { if (input.value === answers[name]) input.checked = true; });
    });
  }

  document.addEventListener("change", function (event) {
    if (form() && form().contains(event.target)) save();
  });
  document.addEventListener("submit", function (event) {
    var store = storage();
    if (store && event.target === form()) store.removeItem(KEY);
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", restore);
  else restore();
})();
