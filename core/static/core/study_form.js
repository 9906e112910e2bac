/* The study form's tasks (New-study and edit pages): "Move up" / "Move down" buttons move a task
   and renumber every task's order field (1 first) in the order shown. The server reads only those
   numbers, so without this script the researcher types them and the page works the same.

   Buttons are real <button>s (Tab, Enter, Space); focus stays on the moved task's button and a
   status line says where it went. No inline handlers: the Content-Security-Policy forbids them. */
(function () {
  "use strict";

  function init() {
    var list = document.getElementById("task-list");
    if (!list) return;
    var status = document.getElementById("task-order-status");

    function rows() {
      return Array.prototype.filter.call(list.children, function (child) {
        return child.matches("fieldset.task-choice");
      });
    }

    function renumber() {
      var all = rows();
      all.forEach(function (row, index) {
        var order = row.querySelector("input[name$='-order']");
        if (order) order.value = String(index + 1);
        row.querySelector("button[data-move='up']").disabled = index === 0;
        row.querySelector("button[data-move='down']").disabled = index === all.length - 1;
      });
    }

    function move(row, direction) {
      var all = rows();
      var from = all.indexOf(row);
      var to = direction === "up" ? from - 1 : from + 1;
      if (to < 0 || to >= all.length) return;
      if (direction === "up") list.insertBefore(row, all[to]);
      else list.insertBefore(all[to], row);
      renumber();
      var button = row.querySelector("button[data-move='" + direction + "']");
      if (button.disabled) button = row.querySelector("button[data-move]:not([disabled])");
      if (button) button.focus();
      if (status) {
        status.textContent = row.getAttribute("data-label") + ": now " + (to + 1) + " of " +
          all.length + ".";
      }
    }

    rows().forEach(function (row) {
      var label = row.getAttribute("data-label") || "this task";
      var box = document.createElement("div");
      box.className = "task-move";
      [["up", "↑", "Move up"], ["down", "↓", "Move down"]].forEach(function (parts) {
        var button = document.createElement("button");
        var arrow = document.createElement("span");
        button.type = "button";
        button.setAttribute("data-move", parts[0]);
        // The name starts with the words shown, so speech users can say what they see.
        button.setAttribute("aria-label", parts[2] + ": " + label);
        arrow.setAttribute("aria-hidden", "true");
        arrow.textContent = parts[1] + " ";
        button.appendChild(arrow);
        button.appendChild(document.createTextNode(parts[2]));
        button.addEventListener("click", function () { move(row, parts[0]); });
        box.appendChild(button);
      });
      var legend = row.querySelector("legend");
      if (legend && legend.nextSibling) row.insertBefore(box, legend.nextSibling);
      else row.appendChild(box);
    });
    renumber();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
