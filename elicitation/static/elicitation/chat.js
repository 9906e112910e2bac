// The interview page: send a message, show the reply as it streams, swap in the card.
// Every text from the server is put in with textContent; only server-rendered (escaped)
// fragments are set as HTML.
(function () {
  "use strict";

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function init() {
    var chat = document.getElementById("chat");
    if (!chat) return;
    var list = document.getElementById("messages");
    var form = document.getElementById("composer");
    var textarea = document.getElementById("composer-text");
    var errorBox = document.getElementById("composer-error");
    var counter = document.getElementById("composer-count");
    var notice = document.getElementById("chat-notice");
    var cardArea = document.getElementById("card-area");
    var maxChars = parseInt(chat.dataset.maxChars, 10);
    var busy = false;

    function bubble(role, text) {
      var item = document.createElement("li");
      item.className = "bubble bubble-" + role;
      var body = document.createElement("div");
      body.className = "bubble-text";
      body.textContent = text;
      item.appendChild(body);
      list.appendChild(item);
      item.scrollIntoView({ block: "end" });
      return item;
    }

    function showNotice(text, canRetry) {
      notice.hidden = !text;
      notice.textContent = "";
      if (!text) return;
      var span = document.createElement("span");
      span.className = "chat-notice-text";
      span.textContent = text;
      notice.appendChild(span);
      if (canRetry) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "retry";
        button.id = "retry";
        button.textContent = "Try again";
        button.addEventListener("click", function () { send(null); });
        notice.appendChild(button);
      }
    }

    function setCard(html) {
      cardArea.innerHTML = html;
      if (window.htmx) htmx.process(cardArea);
    }

    function setState(state) {
      chat.dataset.state = state;
      if (!form) return;
      if (state === "approved") { form.hidden = true; return; }
      textarea.placeholder = state === "card_proposed" ? "Ask for changes to the card…" : "Your answer…";
    }

    function setBusy(value) {
      busy = value;
      if (!form) return;
      form.querySelector("button[type=submit]").disabled = value;
      form.setAttribute("aria-busy", value ? "true" : "false");
    }

    function handle(event, data, state) {
      if (event === "delta") {
        if (!state.reply) state.reply = bubble("assistant", "");
        state.reply.classList.remove("typing");
        state.reply.classList.add("streaming");
        state.reply.querySelector(".bubble-text").textContent += data.text;
        state.reply.scrollIntoView({ block: "end" });
      } else if (event === "reply") {
        if (!state.reply) state.reply = bubble("assistant", "");
        state.reply.classList.remove("streaming", "typing");
        state.reply.dataset.id = data.id;
        state.reply.querySelector(".bubble-text").textContent = data.text;
      } else if (event === "status") {
        showNotice(data.text, false);
      } else if (event === "card") {
        showNotice("", false);
        setCard(data.html);
      } else if (event === "error") {
        state.failed = true;
        if (state.reply && !state.reply.dataset.id) state.reply.remove();
        state.reply = null;
        showNotice(data.text, true);
      } else if (event === "end") {
        setCard(data.card);
        setState(data.state);
        if (!state.failed) showNotice(data.notice || "", false);
      }
    }

    // Read a text/event-stream body from fetch and hand each event to handle().
    async function readEvents(response, state) {
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        var parts = buffer.split("\n\n");
        buffer = parts.pop();
        parts.forEach(function (part) {
          var name = "message", data = "";
          part.split("\n").forEach(function (line) {
            if (line.indexOf("event: ") === 0) name = line.slice(7);
            else if (line.indexOf("data: ") === 0) data += line.slice(6);
          });
          if (data) handle(name, JSON.parse(data), state);
        });
      }
    }

    // text null: answer the message still waiting for a reply.
    async function send(text) {
      if (busy) return;
      var body = new FormData();
      var state = { reply: null, failed: false, mine: null };
      if (text !== null) {
        body.append("text", text);
        body.append("client_id", newId());
        state.mine = bubble("user", text);
      }
      errorBox.hidden = true;
      showNotice("", false);
      setBusy(true);
      state.reply = bubble("assistant", "…");
      state.reply.classList.add("typing");
      state.reply.querySelector(".bubble-text").textContent = "";
      try {
        var response = await fetch(chat.dataset.streamUrl, {
          method: "POST",
          body: body,
          headers: { "X-CSRFToken": window.valuelab.csrfToken() },
          credentials: "same-origin",
        });
        if (!response.ok) {
          var problem = "Something went wrong (HTTP " + response.status + "). Your text is still here.";
          try {
            var detail = await response.json();
            problem = [].concat(detail.text || detail.detail || problem).join(" ");
          } catch (e) { /* not JSON: keep the generic message */ }
          if (state.mine) state.mine.remove();
          state.reply.remove();
          if (text !== null) textarea.value = text;
          errorBox.textContent = problem;
          errorBox.hidden = false;
          return;
        }
        // Empty the composer of the text sent, not of a next answer typed while this one was on
        // its way (the reply takes a while; the Send button waits, the textarea does not).
        if (text !== null && textarea.value.trim() === text) { textarea.value = ""; updateCount(); }
        await readEvents(response, state);
        if (state.reply && !state.reply.dataset.id && !state.reply.textContent.trim()) state.reply.remove();
      } catch (e) {
        if (state.reply && !state.reply.dataset.id) state.reply.remove();
        showNotice("The connection dropped. Your message is saved; try again.", true);
      } finally {
        setBusy(false);
      }
    }

    function updateCount() {
      if (!counter) return;
      counter.textContent = textarea.value.length + " / " + maxChars;
      counter.classList.toggle("error", textarea.value.length > maxChars);
    }

    if (form) {
      textarea.addEventListener("input", updateCount);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var text = textarea.value.trim();
        if (!text) {
          errorBox.textContent = "Write a message before sending.";
          errorBox.hidden = false;
          return;
        }
        send(text);
      });
      textarea.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
      });
    }
    var retry = document.getElementById("retry");
    if (retry) retry.addEventListener("click", function () { send(null); });
    // A message still waiting for its reply is never sent again by a reload: the participant
    // asks with "Get the reply" (each attempt is an LLM call against their daily budget).
    var last = list.lastElementChild;
    if (last) last.scrollIntoView({ block: "end" });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
