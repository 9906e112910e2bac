// The New-study page: the slug follows the title until the researcher edits the slug.
document.addEventListener("DOMContentLoaded", function () {
  var title = document.getElementById("id_title");
  var slug = document.getElementById("id_slug");
  if (!title || !slug) return;
  var edited = slug.value !== "";
  function slugify(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64);
  }
  slug.addEventListener("input", function () { edited = slug.value !== ""; });
  title.addEventListener("input", function () {
    if (!edited) slug.value = slugify(title.value);
  });
});
