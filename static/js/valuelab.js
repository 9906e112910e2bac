/* What every ValueLab page shares (loaded deferred by base.html, before any page script).

   - valuelab.csrfToken(): the CSRF token, from the one place pages carry it: the body's
     hx-headers, which base.html renders (htmx sends it by itself; fetch() callers use this).
   - <select data-autosubmit>: submits its form on change.
   - <input data-select-on-click>: selects its text on click (links to copy).

   No inline handlers anywhere: the Content-Security-Policy allows only these files to run. */
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function wire(root) {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    root.querySelectorAll("input[data-select-on-click]").forEach(function (input) {
      input.addEventListener("click", function () { input.select(); });
    });
  }

  window.valuelab = { csrfToken: csrfToken };
  document.addEventListener("DOMContentLoaded", function () { wire(document); });
})();
