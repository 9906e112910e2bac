/* What every ValueLab page shares (loaded deferred by base.html, before any page script).

   - valuelab.csrfToken(): the CSRF token, from the one place pages carry it: the body's
     hx-headers, which base.html renders (htmx sends it by itself; fetch() callers use this).
   - <select data-autosubmit>: submits its form on change.
   - <input data-select-on-click>: selects its text on click (links to copy).
   - A form refused with 400 (its errors per field) or 409 (changed meanwhile, the wording kept)
     answers htmx with itself re-rendered: htmx swaps it in like a 200 (other errors are not
     swapped). In DEBUG, django-htmx's helper (on document) would put any 400 in place of the
     whole page, meant for Django's error pages: a fragment stops here before it.

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

  function keepRefusedForm(event) {
    var xhr = event.detail.xhr;
    var fragment = !/^\s*<(!doctype|html)/i.test(xhr.responseText || "");
    if ((xhr.status === 400 || xhr.status === 409) && fragment) event.stopPropagation();
  }

  window.valuelab = { csrfToken: csrfToken };
  if (window.htmx) {
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "40[09]", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
    ];
  }
  document.body.addEventListener("htmx:beforeOnLoad", keepRefusedForm);
  document.addEventListener("DOMContentLoaded", function () { wire(document); });
})();
