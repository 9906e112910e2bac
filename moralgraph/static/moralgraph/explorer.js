// The moral graph explorer: one context's values and wiser-than edges, drawn with cytoscape.js
// (vendored), with a table of the same data and details fetched as JSON on click.
// Everything from the server is inserted as text, never as markup.
(function () {
  "use strict";
  var LABEL_PX = 12; // labels are drawn at least this size on screen, whatever the zoom
  var LABELLED_AT_MOST = 150;
  var MAX_DRAWN = 600; // beyond this, draw the values with edges and the top PageRank ones
  var root = document.getElementById("mg-explorer");
  if (!root) return;
  var side = document.getElementById("mg-side");
  var summary = document.getElementById("mg-summary");
  var titles = {};
  var cy = null;

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (attrs) Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status + " " + r.statusText); return r.json(); });
  }
  function valueUrl(id) { return root.dataset.valueUrl.replace(/\/values\/0\/$/, "/values/" + id + "/"); }
  function pairUrl(a, b) { return root.dataset.pairUrl.replace(/\/pairs\/0\/0\/$/, "/pairs/" + a + "/" + b + "/"); }
  function countsRow(label, c) {
    var tr = el("tr");
    tr.appendChild(el("th", label));
    [c.wiser, c.not_wiser, c.unsure].forEach(function (n) { tr.appendChild(el("td", n, { class: "num" })); });
    return tr;
  }
  function countsTable(rows) {
    var table = el("table", null, { class: "mg-counts" });
    var head = el("tr");
    ["", "Yes", "No", "Not sure"].forEach(function (h) { head.appendChild(el("th", h)); });
    table.appendChild(head);
    rows.forEach(function (r) { table.appendChild(countsRow(r[0], r[1])); });
    return table;
  }

  function showValue(id) {
    clear(side);
    side.appendChild(el("p", "Loading…", { class: "muted" }));
    getJSON(valueUrl(id)).then(function (data) {
      clear(side);
      var card = data.card;
      side.appendChild(el("h3", card.title, { id: "mg-side-title" }));
      side.appendChild(el("p", card.description));
      if (card.policies.length) {
        var ul = el("ul");
        card.policies.forEach(function (p) { ul.appendChild(el("li", p)); });
        side.appendChild(ul);
      }
      var meta = "Value " + card.id + (card.source_id ? " · study id " + card.source_id : "") +
        " · " + data.duplicates + " participant card" + (data.duplicates === 1 ? "" : "s") + " merged into it";
      side.appendChild(el("p", meta, { class: "muted" }));
      side.appendChild(el("h3", "Pairs voted on here (" + data.pairs.length + ")"));
      var ul2 = el("ul");
      data.pairs.forEach(function (p) {
        var li = el("li");
        var link = el("a", p.from_title + " → " + p.to_title, { href: "#" });
        link.addEventListener("click", function (e) { e.preventDefault(); showPair(p.from, p.to); });
        li.appendChild(link);
        li.appendChild(el("span", " " + p.counts.wiser + " yes, " + p.counts.not_wiser + " no, " + p.counts.unsure + " not sure", { class: "muted" }));
        ul2.appendChild(li);
      });
      side.appendChild(ul2);
    }).catch(function (err) { clear(side); side.appendChild(el("p", "Could not load the value: " + err.message, { class: "error" })); });
  }

  function showPair(from, to) {
    clear(side);
    side.appendChild(el("p", "Loading…", { class: "muted" }));
    getJSON(pairUrl(from, to)).then(function (data) {
      clear(side);
      side.appendChild(el("h3", data.from.title + " → " + data.to.title, { id: "mg-side-title" }));
      side.appendChild(el("p", "Is “" + data.to.title + "” wiser than “" + data.from.title + "”?", { class: "muted" }));
      side.appendChild(countsTable([["This way", data.counts], ["Other way", data.reverse_counts]]));
      side.appendChild(el("h3", "Stories (" + data.stories.length + ")"));
      data.stories.forEach(function (s) {
        var box = el("div", null, { class: "mg-storybox" });
        var way = s.from === data.from.id ? "this way" : "other way";
        box.appendChild(el("p", s.story));
        if (s.was_really_about) box.appendChild(el("p", "Really about: " + s.was_really_about, { class: "muted" }));
        if (s.policy_map && s.policy_map.length) {
          var ul = el("ul");
          s.policy_map.forEach(function (m) { ul.appendChild(el("li", m.from + " → " + m.to)); });
          box.appendChild(ul);
        }
        box.appendChild(el("p", way + " · " + (s.prompt || "prompt unknown") + " · shown " + s.impressions + "×", { class: "muted" }));
        side.appendChild(box);
      });
      side.appendChild(el("h3", "Comments (" + data.comments.length + ")"));
      var ul = el("ul");
      data.comments.forEach(function (c) {
        var choice = { wiser: "Yes", not_wiser: "No", unsure: "Not sure" }[c.choice] || c.choice;
        ul.appendChild(el("li", choice + (c.from === data.from.id ? "" : " (other way)") + ": " + c.comment));
      });
      side.appendChild(ul);
    }).catch(function (err) { clear(side); side.appendChild(el("p", "Could not load the pair: " + err.message, { class: "error" })); });
  }

  function sortTable(table, column, numeric) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var header = table.tHead.rows[0].cells[column];
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.sort(function (a, b) {
      var x = a.cells[column].textContent, y = b.cells[column].textContent;
      var order = numeric ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function makeSortable(table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell, column) {
      var button = el("button", cell.textContent, { type: "button", class: "mg-sort", "aria-label": "Sort by " + cell.textContent });
      var numeric = cell.classList.contains("num");
      button.addEventListener("click", function () { sortTable(table, column, numeric); });
      cell.textContent = "";
      cell.appendChild(button);
    });
  }

  function search(text) {
    var query = text.trim().toLowerCase();
    var rows = document.querySelectorAll("#mg-table tbody tr");
    var found = 0;
    Array.prototype.forEach.call(rows, function (row) {
      var match = !query || row.cells[1].textContent.toLowerCase().indexOf(query) !== -1;
      row.hidden = !match;
      if (match && query) found += 1;
    });
    if (cy) {
      cy.nodes().unselect();
      if (query) {
        var hits = cy.nodes().filter(function (n) { return String(n.data("label") || "").toLowerCase().indexOf(query) !== -1; });
        hits.select();
        if (hits.length) cy.fit(hits, 60);
      }
    }
    var status = document.getElementById("mg-search-status");
    if (status) status.textContent = query ? found + " value" + (found === 1 ? "" : "s") + " match" : "";
  }

  function fillTables(data) {
    var wiserThan = {}, lessThan = {};
    data.edges.forEach(function (e) {
      wiserThan[e.to] = (wiserThan[e.to] || 0) + 1;
      lessThan[e.from] = (lessThan[e.from] || 0) + 1;
    });
    var body = document.querySelector("#mg-table tbody");
    clear(body);
    var fragment = document.createDocumentFragment();
    data.values.forEach(function (v) {
      var tr = el("tr", null, { "data-value": v.id });
      if (v.id === data.winner && !data.tied && data.clear_winner !== false) tr.className = "mg-winner";
      tr.appendChild(el("td", v.rank, { class: "num" }));
      var td = el("td");
      var link = el("a", v.title || ("Value " + v.id), { href: "#" });
      link.addEventListener("click", function (e) { e.preventDefault(); showValue(v.id); });
      td.appendChild(link);
      tr.appendChild(td);
      tr.appendChild(el("td", v.pagerank.toFixed(4), { class: "num" }));
      tr.appendChild(el("td", wiserThan[v.id] || 0, { class: "num" }));
      tr.appendChild(el("td", lessThan[v.id] || 0, { class: "num" }));
      tr.appendChild(el("td", v.in_cycle ? "yes" : "", { class: v.in_cycle ? "mg-cycle" : "" }));
      fragment.appendChild(tr);
    });
    body.appendChild(fragment);
    var edgeBody = document.querySelector("#mg-edge-table tbody");
    clear(edgeBody);
    data.edges.forEach(function (e) {
      var tr = el("tr");
      var td = el("td");
      var link = el("a", titles[e.from] || e.from, { href: "#" });
      link.addEventListener("click", function (ev) { ev.preventDefault(); showPair(e.from, e.to); });
      td.appendChild(link);
      tr.appendChild(td);
      tr.appendChild(el("td", titles[e.to] || e.to));
      [e.counts.wiser, e.counts.not_wiser, e.counts.unsure, e.strength.toFixed(2)].forEach(function (n) { tr.appendChild(el("td", n, { class: "num" })); });
      edgeBody.appendChild(tr);
    });
  }

  function drawGraph(data) {
    if (typeof window.cytoscape !== "function") {
      document.getElementById("mg-graph").textContent = "The graph library did not load; use the table.";
      return;
    }
    var linked = {};
    data.edges.forEach(function (e) { linked[e.from] = linked[e.to] = true; });
    var drawn = data.values.filter(function (v, i) { return linked[v.id] || i < MAX_DRAWN; });
    if (drawn.length > MAX_DRAWN) drawn = drawn.slice(0, Math.max(MAX_DRAWN, Object.keys(linked).length));
    var ids = {};
    drawn.forEach(function (v) { ids[v.id] = true; });
    var maxRank = Math.max.apply(null, drawn.map(function (v) { return v.pagerank; }).concat([1e-9]));
    var minRank = Math.min.apply(null, drawn.map(function (v) { return v.pagerank; }).concat([maxRank]));
    var cycleEdge = {};
    data.cycles.forEach(function (cycle) { cycle.forEach(function (id) { cycleEdge[id] = true; }); });
    var radius = 40 + 12 * drawn.length;
    var elements = drawn.map(function (v, i) {
      var scale = maxRank > minRank ? (v.pagerank - minRank) / (maxRank - minRank) : 0.5;
      // Start every value at a fixed place (by rank, on a circle): the same data always draws
      // the same picture, instead of a random layout on every load.
      var angle = 2 * Math.PI * i / Math.max(drawn.length, 1);
      var kind = v.id === data.winner && !data.tied && data.clear_winner !== false ? "winner" : (v.in_cycle ? "cycle" : "value");
      return { position: { x: radius * Math.cos(angle), y: radius * Math.sin(angle) }, data: { id: "v" + v.id, value: v.id, label: v.title, size: 14 + 46 * scale,
        kind: kind, rank: i } };
    });
    data.edges.forEach(function (e, i) {
      if (!ids[e.from] || !ids[e.to]) return;
      var shade = Math.round(200 - 170 * Math.max(0, Math.min(1, e.strength)));
      elements.push({ data: { id: "e" + i, source: "v" + e.from, target: "v" + e.to, from: e.from, to: e.to,
        color: cycleEdge[e.from] && cycleEdge[e.to] ? "#d9822b" : "rgb(" + shade + "," + shade + "," + shade + ")",
        width: 1.5 + 3 * Math.max(0, e.strength) } });
    });
    // Values a researcher dragged stay where they were put (this browser, this context and group).
    var saved = savedLayout();
    var placed = saved && elements.every(function (item) { return !item.position || saved[item.data.id]; });
    if (placed) elements.forEach(function (item) { if (item.position) item.position = saved[item.data.id]; });
    if (cy) cy.destroy();
    cy = window.cytoscape({
      container: document.getElementById("mg-graph"),
      elements: elements,
      wheelSensitivity: 0.3,
      minZoom: 0.05,
      style: [
        { selector: "node", style: { width: "data(size)", height: "data(size)", "background-color": "#5b7bd5",
          label: "data(label)", "font-size": 12, "text-wrap": "wrap", "text-max-width": 130,
          "text-valign": "bottom", "text-margin-y": 3, color: "#1d2330", "text-background-color": "#fff",
          "text-background-opacity": 0.85, "text-background-padding": 1 } },
        // Beyond the top LABELLED values, a label shows on hover, on selection or zoomed in.
        { selector: "node.minor", style: { label: "" } },
        { selector: "node.minor.show-label, node.minor:selected", style: { label: "data(label)", "z-index": 20 } },
        { selector: 'node[kind = "winner"]', style: { "background-color": "#1f7a4d", "border-width": 3, "border-color": "#0e4d2e", label: "data(label)", "font-weight": "bold" } },
        { selector: 'node[kind = "cycle"]', style: { "background-color": "#d9822b" } },
        { selector: "node:selected", style: { "border-width": 3, "border-color": "#111" } },
        { selector: "edge", style: { width: "data(width)", "line-color": "data(color)", "target-arrow-color": "data(color)",
          "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 0.9 } },
        { selector: "edge:selected", style: { "line-color": "#2f5fd0", "target-arrow-color": "#2f5fd0" } }
      ],
      // Labels count as part of each value's size, so the layout keeps them apart.
      layout: placed ? { name: "preset", fit: true, padding: 20 } : { name: "cose", animate: false, randomize: false,
        nodeDimensionsIncludeLabels: true, nodeRepulsion: function () { return 8000; },
        idealEdgeLength: function () { return 60; }, numIter: drawn.length > 300 ? 300 : 1000, fit: true, padding: 20 }
    });
    relabel();
    cy.on("dragfree", "node", saveLayout);
    var relabelTimer = null;
    cy.on("zoom", function () {
      clearTimeout(relabelTimer);
      relabelTimer = setTimeout(relabel, 120);
    });
    cy.on("mouseover", "node.minor", function (evt) { evt.target.addClass("show-label"); });
    cy.on("mouseout", "node.minor", function (evt) { evt.target.removeClass("show-label"); });
    cy.on("tap", "node", function (evt) { showValue(evt.target.data("value")); });
    cy.on("tap", "edge", function (evt) { showPair(evt.target.data("from"), evt.target.data("to")); });
    window.mgGraph = cy; // for browser tests and for people poking at the graph in devtools
  }

  function layoutKey() { return "mg-layout:" + root.dataset.url; }
  function savedLayout() {
    try { return JSON.parse(window.localStorage.getItem(layoutKey()) || "null"); } catch (e) { return null; }
  }
  function saveLayout() {
    var positions = {};
    cy.nodes().forEach(function (node) { positions[node.id()] = { x: node.position("x"), y: node.position("y") }; });
    try { window.localStorage.setItem(layoutKey(), JSON.stringify(positions)); } catch (e) { /* private mode: not kept */ }
  }

  // Labels readable at any zoom: drawn LABEL_PX on screen when zoomed out; a value whose
  // label would cover a higher-ranked value's label shows it on hover or selection instead.
  function relabel() {
    var scale = 1 / Math.min(cy.zoom(), 1);
    cy.nodes().style({ "font-size": LABEL_PX * scale, "text-max-width": 130 * scale });
    var kept = [];
    cy.nodes().sort(function (a, b) {
      return (a.data("kind") === "winner" ? -1 : a.data("rank")) - (b.data("kind") === "winner" ? -1 : b.data("rank"));
    }).forEach(function (node) {
      node.removeClass("minor");
      var box = node.boundingBox({ includeLabels: true, includeNodes: false });
      var covers = kept.length >= LABELLED_AT_MOST || kept.some(function (k) {
        return box.x1 < k.x2 && k.x1 < box.x2 && box.y1 < k.y2 && k.y1 < box.y2;
      });
      if (covers) node.addClass("minor"); else kept.push(box);
    });
  }

  function load() {
    var started = performance.now();
    getJSON(root.dataset.url).then(function (data) {
      data.values.forEach(function (v) { titles[v.id] = v.title; });
      var leads = data.winner !== null && data.winner !== undefined && !data.tied;
      // A leader counts as the winner only when it wins in most resamples of the voters.
      var hasWinner = leads && data.clear_winner !== false;
      var share = data.winner_share === null || data.winner_share === undefined ? null : Math.round(data.winner_share * 100);
      var winner = hasWinner ? (titles[data.winner] || data.winner) :
        (data.tied ? "no clear winner (tie)" : (leads ? "no clear winner (" + (titles[data.winner] || data.winner) +
          " leads, but wins in only " + share + "% of " + data.winner_resamples + " resamples of the voters)" : "none yet"));
      var text = data.values.length + " values, " + data.edges.length + " edges · winner: " + winner +
        (hasWinner ? " (wins in " + (share === null ? "?" : share) + "% of " + data.winner_resamples +
          " resamples of the voters; support " + Number(data.support).toFixed(3) +
          " = its PageRank lead over the runner-up)" : "") +
        " · " + data.cycles.length + " cycle" + (data.cycles.length === 1 ? "" : "s") +
        (data.group ? " · counting only this group: n = " + data.group_voters + " voter" + (data.group_voters === 1 ? "" : "s") +
          ", " + data.group_votes + " vote" + (data.group_votes === 1 ? "" : "s") + " in this context" : "") +
        (data.stale ? " · being recomputed, figures may lag behind the latest votes" : "") +
        (data.pending ? " · not computed yet, reload in a moment" : "");
      summary.textContent = text;
      if (data.cycles.length) {
        var cyc = el("span", " · cycles: " + data.cycles.map(function (c) {
          return c.map(function (id) { return titles[id] || id; }).join(" ⇄ ");
        }).join("; "), { class: "mg-cycle" });
        summary.appendChild(cyc);
      }
      fillTables(data);
      drawGraph(data);
      root.dataset.loadedMs = String(Math.round(performance.now() - started));
      root.dataset.loaded = "true";
    }).catch(function (err) { summary.textContent = "Could not load the graph: " + err.message; });
  }

  var graphButton = document.getElementById("mg-show-graph");
  var tableButton = document.getElementById("mg-show-table");
  function show(table) {
    document.getElementById("mg-graph").hidden = table;
    document.getElementById("mg-table-wrap").hidden = !table;
    graphButton.setAttribute("aria-pressed", String(!table));
    tableButton.setAttribute("aria-pressed", String(table));
    if (!table && cy) cy.resize();
  }
  graphButton.addEventListener("click", function () { show(false); });
  tableButton.addEventListener("click", function () { show(true); });
  makeSortable(document.getElementById("mg-table"));
  makeSortable(document.getElementById("mg-edge-table"));
  var searchBox = document.getElementById("mg-search");
  if (searchBox) searchBox.addEventListener("input", function () { search(searchBox.value); });
  load();
})();
