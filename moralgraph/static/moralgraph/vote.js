// The voting page: keyboard answers (Y, N, U), a comment that survives a reload until its vote
// is sent, and no stale pair from the browser's back/forward cache.
(function () {
  "use strict";
  var PREFIX = "valuelab:vote-comment:";

  function form() { return document.getElementById("mg-vote-form"); }

  function storage() {
    try { return window.sessionStorage; } catch (error) { return null; }
  }

  // Put back a comment typed before a reload (kept in this tab only, until its vote is sent).
  function restore() {
    var current = form();
    var store = storage();
    if (!current || !store) return;
    var box = current.querySelector("textarea[name=comment]");
    var saved = store.getItem(PREFIX + current.dataset.story);
    if (box && saved && !box.value) box.value = saved;
  }

  document.addEventListener("input", function (event) {
    var current = form();
    var store = storage();
    if (!current || !store || event.target.name !== "comment" || !current.contains(event.target)) return;
    if (event.target.value) store.setItem(PREFIX + current.dataset.story, event.target.value);
    else store.removeItem(PREFIX + current.dataset.story);
  });

  // A vote that reached the server (answered with the next pair) no longer needs its comment.
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    var store = storage();
    if (!store || !elt || elt.id !== "mg-vote-form" || !event.detail.successful) return;
    store.removeItem(PREFIX + elt.dataset.story);
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    var target = event.target;
    if (target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" || target.isContentEditable)) return;
    var current = form();
    if (!current) return;
    var button = current.querySelector('button[data-key="' + event.key.toLowerCase() + '"]');
    if (!button || button.disabled) return;
    event.preventDefault();
    // A click (not requestSubmit) so htmx sends the button's name and value with the form.
    button.click();
  });

  // After htmx swaps in the next pair, move focus to its story so screen readers read it.
  document.addEventListener("htmx:afterSwap", function () {
    restore();
    var story = document.getElementById("mg-story");
    if (story) { story.setAttribute("tabindex", "-1"); story.focus({ preventScroll: true }); }
    window.scrollTo(0, 0);
  });

  // Back/Forward may bring a page back from memory: ask the server which pair is open now.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && form()) window.location.reload();
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", restore);
  else restore();
})();
