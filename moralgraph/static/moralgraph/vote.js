// Keyboard answers on the voting page: Y, N, U submit the matching button unless typing.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    var target = event.target;
    if (target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" || target.isContentEditable)) return;
    var form = document.getElementById("mg-vote-form");
    if (!form) return;
    var button = form.querySelector('button[data-key="' + event.key.toLowerCase() + '"]');
    if (!button || button.disabled) return;
    event.preventDefault();
    // A click (not requestSubmit) so htmx sends the button's name and value with the form.
    button.click();
  });
  // After htmx swaps in the next pair, move focus to its story so screen readers read it.
  document.addEventListener("htmx:afterSwap", function () {
    var story = document.getElementById("mg-story");
    if (story) { story.setAttribute("tabindex", "-1"); story.focus({ preventScroll: false }); }
    window.scrollTo(0, 0);
  });
})();
