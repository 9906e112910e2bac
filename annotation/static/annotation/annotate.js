/* The labelling page: keyboard-first, time on item, lease heartbeat, come-back countdown.
   Works with htmx swapping #work: everything is (re)bound to the current fragment. */
(function () {
  "use strict";

  var state = { form: null, active: 0, shownAt: 0, hiddenFor: 0, hiddenSince: null, beat: null, tick: null };

  // htmx binds hx-* attributes of swapped-in content only when it settles (~20 ms later); a
  // key pressed in between must not fall through to a plain, full-page request.
  function ready(element) { if (window.htmx) window.htmx.process(element); }

  function rows() { return state.form ? Array.prototype.slice.call(state.form.querySelectorAll("fieldset.dim")) : []; }

  function setActive(index, scroll) {
    var all = rows();
    if (!all.length) return;
    state.active = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row, i) { row.classList.toggle("active", i === state.active); });
    var row = all[state.active];
    if (scroll !== false) row.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  // The row whose key (1-9, then a-z: shown beside its name) is ``key``, or null.
  function rowFor(key) {
    if (!/^[1-9a-z]$/.test(key)) return null;
    return rows().filter(function (row) { return row.dataset.hotkey === key; })[0] || null;
  }

  function currentValue(row) {
    var checked = row.querySelector("input[type=radio]:checked");
    return checked ? parseInt(checked.value, 10) : 0;
  }

  function setValue(row, value) {
    var input = row.querySelector('input[type=radio][value="' + value + '"]');
    if (input) { input.checked = true; markChanged(row); save(); }
  }

  // Answers not yet submitted survive a reload: kept in this browser until the item is
  // submitted, given back, or its lease ends.
  var PREFIX = "valuelab:labels:";
  function storage() { try { return window.localStorage; } catch (error) { return null; } }
  function leaseMs(form) { return parseInt(form.dataset.leaseSeconds || "300", 10) * 1000; }

  function save() {
    var store = storage();
    if (!state.form || !store) return;
    var labels = {};
    rows().forEach(function (row) { labels[row.dataset.key] = currentValue(row); });
    try {
      store.setItem(state.form.dataset.answersKey,
        JSON.stringify({ labels: labels, expires: Date.now() + leaseMs(state.form) }));
    } catch (error) { /* storage full or off: the answers just won't survive a reload */ }
  }

  function forget(key) { var store = storage(); if (store && key) store.removeItem(key); }

  function restore() {
    var store = storage();
    if (!store) return;
    // Drop what other items left behind once their lease is over.
    for (var i = store.length - 1; i >= 0; i--) {
      var name = store.key(i);
      if (name && name.indexOf(PREFIX) === 0) {
        try { if (JSON.parse(store.getItem(name)).expires < Date.now()) store.removeItem(name); }
        catch (error) { store.removeItem(name); }
      }
    }
    var saved = null;
    try { saved = JSON.parse(store.getItem(state.form.dataset.answersKey)); } catch (error) { saved = null; }
    if (!saved || !saved.labels) return;
    rows().forEach(function (row) {
      var value = saved.labels[row.dataset.key];
      var input = row.querySelector('input[type=radio][value="' + value + '"]');
      if (input) input.checked = true;
    });
  }

  function markChanged(row) {
    var ai = row.querySelector(".opt.ai input");
    row.classList.toggle("changed", !!ai && !ai.checked);
  }

  function toggle(button) {
    var panel = document.getElementById(button.getAttribute("aria-controls"));
    if (!panel) return;
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    panel.hidden = !open;
  }

  function secondsOnItem() {
    var hidden = state.hiddenFor + (state.hiddenSince ? performance.now() - state.hiddenSince : 0);
    return Math.max(0, (performance.now() - state.shownAt - hidden) / 1000);
  }

  function heartbeat(form) {
    if (!form.dataset.heartbeatUrl) return;  // a researcher's preview leases nothing
    var lease = parseInt(form.dataset.leaseSeconds || "300", 10);
    var every = Math.max(5, Math.floor(lease / 3)) * 1000;
    state.beat = setInterval(function () {
      if (!document.body.contains(form)) { clearInterval(state.beat); return; }
      fetch(form.dataset.heartbeatUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": window.valuelab.csrfToken(), "Accept": "application/json" }
      }).then(function (response) {
        if (response.ok) { save(); return; }  // the lease goes on, and so do the kept answers
        if (response.status === 403 || response.status === 409) {
          clearInterval(state.beat);
          forget(form.dataset.answersKey);
          var lost = form.querySelector(".lease-lost");
          if (lost) lost.hidden = false;
        }
      }).catch(function () { /* offline for a moment: the next beat tries again */ });
    }, every);
  }

  function countdown(root) {
    var card = root.querySelector("#retry");
    if (!card) return;
    var left = parseInt(card.dataset.retryAfter, 10);
    var out = card.querySelector(".countdown");
    state.tick = setInterval(function () {
      left -= 1;
      if (left <= 0 || !document.body.contains(card)) { clearInterval(state.tick); return; }
      if (out) out.textContent = left;
    }, 1000);
  }

  function bind(root) {
    clearInterval(state.beat); clearInterval(state.tick);
    var before = state.form ? state.form.dataset.answersKey : null;
    state.form = root.querySelector ? root.querySelector("#label-form") : null;
    if (!state.form && root.id === "label-form") state.form = root;
    // The item before was submitted or given back: its kept answers are done with.
    if (before && (!state.form || state.form.dataset.answersKey !== before)) forget(before);
    countdown(document);
    if (!state.form) {
      var next = document.querySelector("#continue");
      if (next) next.focus();
      return;
    }
    state.shownAt = performance.now(); state.hiddenFor = 0; state.hiddenSince = document.hidden ? performance.now() : null;
    restore();
    rows().forEach(markChanged);
    var firstError = state.form.querySelector("fieldset.has-error");
    setActive(firstError ? parseInt(firstError.dataset.index, 10) : 0, false);
    window.scrollTo({ top: 0 });
    heartbeat(state.form);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { state.hiddenSince = performance.now(); }
    else if (state.hiddenSince) { state.hiddenFor += performance.now() - state.hiddenSince; state.hiddenSince = null; }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.info, button.why");
    if (button) { toggle(button); return; }
    var row = event.target.closest("fieldset.dim");
    if (row) setActive(parseInt(row.dataset.index, 10), false);
  });

  document.addEventListener("change", function (event) {
    var row = event.target.closest && event.target.closest("fieldset.dim");
    if (row) { markChanged(row); save(); }
  });

  // Back/Forward may bring the page back from memory: ask the server which item is open now.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) window.location.reload();
  });

  // Record the time on the item just before htmx (or a plain post) sends the form.
  document.addEventListener("submit", function (event) {
    if (event.target.id !== "label-form") return;
    event.target.querySelector("input[name=seconds]").value = secondsOnItem().toFixed(2);
  }, true);
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "label-form") {
      event.detail.parameters.seconds = secondsOnItem().toFixed(2);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type === "text"))) return;
    var key = event.key;
    // A key pressed between htmx's swap and its settle event must reach the new item.
    if (state.form && !document.body.contains(state.form)) bind(document);
    if (!state.form || !document.body.contains(state.form)) {
      var next = document.querySelector("#continue");
      if (next && key === "Enter") { event.preventDefault(); ready(next); next.click(); }
      return;
    }
    var all = rows();
    var row = all[state.active];
    var picked = key.length === 1 ? rowFor(key.toLowerCase()) : null;
    if (picked) {
      event.preventDefault(); setActive(parseInt(picked.dataset.index, 10));
    } else if (key === "ArrowDown") {
      event.preventDefault(); setActive(state.active + 1);
    } else if (key === "ArrowUp") {
      event.preventDefault(); setActive(state.active - 1);
    } else if (key === "ArrowLeft") {
      event.preventDefault(); setValue(row, Math.max(-1, currentValue(row) - 1));
    } else if (key === "ArrowRight") {
      event.preventDefault(); setValue(row, Math.min(1, currentValue(row) + 1));
    } else if (key === "-" || key === "_") {
      event.preventDefault(); setValue(row, -1);
    } else if (key === "0") {
      event.preventDefault(); setValue(row, 0);
    } else if (key === "+" || key === "=") {
      event.preventDefault(); setValue(row, 1);
    } else if (key === "?") {
      event.preventDefault(); var info = row.querySelector("button.info"); if (info) toggle(info);
    } else if (key === "Enter") {
      // Enter submits from anywhere on the form, also after tapping a definition button;
      // only the "stop for now" button keeps its own meaning.
      if (target && target.classList && target.classList.contains("pause")) return;
      event.preventDefault();
      ready(state.form);
      state.form.requestSubmit();
    }
  });

  // #work is swapped whole (outerHTML): bind to whatever fragment is on the page now.
  document.addEventListener("htmx:afterSwap", function () { bind(document); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { bind(document); });
  } else { bind(document); }
})();
