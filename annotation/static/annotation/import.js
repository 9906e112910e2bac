/* ValueLab project page: shows how much of an uploaded file has been sent while htmx posts the
   import form (htmx:xhr:progress), then htmx swaps in the import job's progress panel.
   Text only: nothing here becomes markup. */
(function () {
  "use strict";

  function isImportForm(element) {
    return element && element.id === "import-form";
  }

  function show(form, percent, text) {
    var bar = form.querySelector("#upload-progress");
    var label = form.querySelector("#upload-progress-text");
    if (bar) {
      bar.hidden = false;
      bar.value = percent;
      bar.textContent = percent + "%";
    }
    if (label) {
      label.textContent = text;
    }
  }

  function megabytes(bytes) {
    return (bytes / 1048576).toFixed(1) + " MB";
  }

  document.addEventListener("htmx:xhr:loadstart", function (event) {
    if (isImportForm(event.target)) {
      show(event.target, 0, "Uploading…");
    }
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var detail = event.detail || {};
    if (!isImportForm(event.target) || !detail.lengthComputable || !detail.total) {
      return;
    }
    var percent = Math.min(100, Math.round((100 * detail.loaded) / detail.total));
    var text = percent < 100
      ? "Uploading: " + megabytes(detail.loaded) + " of " + megabytes(detail.total)
      : "Uploaded; starting the import…";
    show(event.target, percent, text);
  });

  document.addEventListener("htmx:responseError", function (event) {
    if (isImportForm(event.target)) {
      show(event.target, 0, "The upload failed (" + event.detail.xhr.status + "); try again.");
    }
  });
})();
