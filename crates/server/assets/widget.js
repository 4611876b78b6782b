// Frontdesk's chat widget, for a shop's own pages:
//
//   <script src="https://help.shop.example/widget.js"
//           data-title="Questions?" data-greeting="Hello! How can we help?" defer></script>
//
// Everything is drawn inside a Shadow DOM, so the page's styles cannot reach the widget
// and the widget's cannot reach the page. Text from customers, the assistant and the
// team only ever goes into the page as text (textContent), never as markup.
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.src || window.frontdeskWidgetLoaded) {
    return;
  }
  window.frontdeskWidgetLoaded = true;

  // The server is wherever this script came from, under whatever path it is served at.
  var base = new URL(".", script.src);
  var title = script.getAttribute("data-title") || "Chat with us";
  var greeting = script.getAttribute("data-greeting") || "";
  var storageKey = "frontdesk-widget:" + base.href;

  var RECONNECT_FIRST_MS = 1000;
  var RECONNECT_MAX_MS = 30000;
  // A timer that fires this late means the machine slept: the socket may be dead
  // without knowing it.
  var WAKE_CHECK_MS = 10000;
  var WAKE_GAP_MS = 30000;

  var STATUS_TEXT = {
    bot: "The assistant answers right away.",
    waiting: "We have passed your question to the team; a person will reply here.",
    assigned: "A person from the team has joined.",
    resolved: "Marked as resolved. Write again any time."
  };

  var STYLE = [
    ":host { all: initial; }",
    ".root { font: 15px/1.4 system-ui, -apple-system, 'Segoe UI', sans-serif;",
    "  color: #1d1d1f; position: fixed; right: 20px; bottom: 20px;",
    "  z-index: 2147483000; }",
    "button { font: inherit; cursor: pointer; }",
    ".launcher { border: 0; border-radius: 28px; padding: 12px 20px; background: #2b5d4f;",
    "  color: #fff; box-shadow: 0 4px 14px rgba(0,0,0,.25); }",
    ".launcher:focus-visible, .panel button:focus-visible, textarea:focus-visible {",
    "  outline: 3px solid #f0a202; outline-offset: 2px; }",
    ".launcher.unread::after { content: ''; display: inline-block; width: 8px;",
    "  height: 8px; margin-left: 8px; border-radius: 50%; background: #f0a202; }",
    ".panel { position: absolute; right: 0; bottom: 0; width: 360px; height: 520px;",
    "  max-height: calc(100vh - 40px); display: flex; flex-direction: column;",
    "  background: #fff; border-radius: 12px; overflow: hidden;",
    "  box-shadow: 0 8px 30px rgba(0,0,0,.3); }",
    ".panel[hidden] { display: none; }",
    "header { background: #2b5d4f; color: #fff; padding: 12px 14px;",
    "  display: flex; align-items: flex-start; gap: 8px; }",
    "header div { flex: 1; }",
    "h2 { margin: 0; font-size: 16px; }",
    ".status { margin: 2px 0 0; font-size: 13px; opacity: .9; }",
    ".close { border: 0; background: transparent; color: #fff; font-size: 22px;",
    "  line-height: 1; padding: 0 4px; }",
    ".log { flex: 1; overflow-y: auto; padding: 12px; display: flex;",
    "  flex-direction: column; gap: 8px; background: #f6f5f2; }",
    ".bubble { max-width: 85%; padding: 8px 12px; border-radius: 12px;",
    "  white-space: pre-wrap; overflow-wrap: anywhere; }",
    ".bubble .who { display: block; font-size: 11px; opacity: .7; }",
    ".bubble .link { color: inherit; text-decoration: underline; }",
    ".bubble .sources { display: block; margin-top: 4px; font-size: 11px; opacity: .75; }",
    ".bubble.draft { opacity: .8; }",
    ".customer { align-self: flex-end; background: #2b5d4f; color: #fff; }",
    ".assistant, .agent, .greeting { align-self: flex-start; background: #fff;",
    "  border: 1px solid #dedbd3; }",
    ".system { align-self: center; font-size: 13px; color: #5b5b5b;",
    "  background: transparent; text-align: center; }",
    ".error { margin: 0; padding: 8px 12px; background: #fdecea; color: #8a1c12;",
    "  font-size: 13px; }",
    ".error[hidden] { display: none; }",
    ".rating { margin: 0; padding: 8px 12px; border-top: 1px solid #e5e5e5; }",
    ".rating[hidden] { display: none; }",
    ".rating p { margin: 0 0 6px; }",
    ".rating button { min-width: 36px; margin-right: 4px; border: 1px solid #2b5d4f;",
    "  border-radius: 6px; background: #fff; color: #2b5d4f; padding: 4px 8px; }",
    "form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #dedbd3; }",
    "textarea { flex: 1; resize: none; font: inherit; padding: 8px;",
    "  border: 1px solid #b9b5aa; border-radius: 8px; min-height: 40px; }",
    ".send { border: 0; border-radius: 8px; padding: 0 14px; background: #2b5d4f;",
    "  color: #fff; }",
    ".send:disabled { opacity: .6; cursor: default; }",
    ".hidden-label { position: absolute; width: 1px; height: 1px; overflow: hidden;",
    "  clip: rect(0 0 0 0); white-space: nowrap; }",
    "@media (max-width: 480px) {",
    "  .root { right: 12px; bottom: 12px; }",
    "  .panel { position: fixed; inset: 0; width: auto; height: auto;",
    "    max-height: none; border-radius: 0; }",
    "}"
  ].join("\n");

  var state = {
    token: null,
    lastId: null,
    status: "bot",
    socket: null,
    reconnectMs: RECONNECT_FIRST_MS,
    reconnectTimer: null,
    sending: false,
    shown: {},
    draft: null,
    // Whether the customer rated the conversation since it was last resolved.
    rated: false
  };

  // ----- storage: a browser may refuse it (private modes); the chat still works.

  function loadToken() {
    try {
      return window.localStorage.getItem(storageKey);
    } catch (e) {
      return null;
    }
  }

  function saveToken(token) {
    try {
      if (token) {
        window.localStorage.setItem(storageKey, token);
      } else {
        window.localStorage.removeItem(storageKey);
      }
    } catch (e) {
      // Nothing to do: the conversation lasts as long as the page.
    }
  }

  // ----- drawing

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  var host = el("div");
  host.setAttribute("data-frontdesk-widget", "");
  var shadow = host.attachShadow({ mode: "open" });
  addStyle(shadow);

  var root = el("div", "root");
  var launcher = el("button", "launcher", title);
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "frontdesk-panel");
  launcher.setAttribute("aria-label", "Open the chat: " + title);

  var panel = el("section", "panel");
  panel.id = "frontdesk-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", "frontdesk-title");

  var header = el("header");
  var heading = el("div");
  var h2 = el("h2", "", title);
  h2.id = "frontdesk-title";
  var statusLine = el("p", "status", STATUS_TEXT.bot);
  statusLine.setAttribute("role", "status");
  heading.appendChild(h2);
  heading.appendChild(statusLine);
  var closeButton = el("button", "close", "\u00d7");
  closeButton.type = "button";
  closeButton.setAttribute("aria-label", "Close the chat");
  header.appendChild(heading);
  header.appendChild(closeButton);

  var log = el("div", "log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "Messages");
  log.tabIndex = 0;

  var errorLine = el("p", "error");
  errorLine.setAttribute("role", "alert");
  errorLine.hidden = true;

  var form = el("form");
  var label = el("label", "hidden-label", "Your message");
  label.htmlFor = "frontdesk-input";
  var input = el("textarea");
  input.id = "frontdesk-input";
  input.rows = 2;
  input.dir = "auto";
  input.placeholder = "Write a message\u2026";
  input.setAttribute("aria-label", "Your message");
  var sendButton = el("button", "send", "Send");
  sendButton.type = "submit";
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(sendButton);

  panel.appendChild(header);
  panel.appendChild(log);
  // The one question asked once the conversation is resolved.
  var SCORE_WORDS = ["very poor", "poor", "all right", "good", "very good"];
  var rating = el("div", "rating");
  rating.hidden = true;
  var ratingQuestion = el("p", "", "How did we do? Rate this conversation:");
  rating.appendChild(ratingQuestion);
  var scoreButtons = SCORE_WORDS.map(function (words, index) {
    var score = index + 1;
    var button = el("button", "score", String(score));
    button.type = "button";
    button.setAttribute("aria-label", score + " of 5: " + words);
    button.addEventListener("click", function () {
      rate(score);
    });
    rating.appendChild(button);
    return button;
  });

  panel.appendChild(errorLine);
  panel.appendChild(rating);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(launcher);
  shadow.appendChild(root);

  if (greeting) {
    log.appendChild(bubble("greeting", "Assistant", greeting));
  }

  function addStyle(target) {
    // A constructed sheet is not inline style, so pages with a strict
    // Content-Security-Policy do not block it.
    if (target.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function") {
      try {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(STYLE);
        target.adoptedStyleSheets = [sheet];
        return;
      } catch (e) {
        // Older browsers: fall through to a style element.
      }
    }
    target.appendChild(el("style", "", STYLE));
  }

  function authorName(author) {
    return { customer: "You", assistant: "Assistant", agent: "Team", system: "" }[author];
  }

  function bubble(kind, who, text) {
    var node = el("div", "bubble " + kind);
    node.dir = "auto";
    if (who) {
      node.appendChild(el("span", "who", who));
    }
    // The shop's own replies link the products they cite; a customer's text never
    // becomes a link, so nobody can plant one in the conversation for the team.
    if (kind === "assistant" || kind === "agent") {
      appendWithLinks(node, text);
    } else {
      node.appendChild(document.createTextNode(text));
    }
    return node;
  }

  // Web addresses become links (built as elements, the address set as an attribute,
  // never parsed as markup); everything else stays text.
  var WEB_ADDRESS = /https?:\/\/[^\s<>"]+[^\s<>".,;:!?)]/g;
  function appendWithLinks(node, text) {
    var last = 0;
    var found;
    WEB_ADDRESS.lastIndex = 0;
    while ((found = WEB_ADDRESS.exec(text)) !== null) {
      node.appendChild(document.createTextNode(text.slice(last, found.index)));
      var link = el("a", "link", found[0]);
      link.href = found[0];
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      node.appendChild(link);
      last = found.index + found[0].length;
    }
    node.appendChild(document.createTextNode(text.slice(last)));
  }

  // Messages can arrive out of order (a live one before an older catch-up) and twice
  // (the HTTP answer and the socket): each is shown once, in id order.
  function show(message) {
    if (!message || typeof message.id !== "number" || state.shown[message.id]) {
      return;
    }
    var author = String(message.author);
    var node = bubble(author, authorName(author), String(message.text));
    if (author === "assistant") {
      appendSources(node, message.sources);
      // The stored reply replaces the answer shown while it was being written.
      clearDraft();
    }
    node.setAttribute("data-id", String(message.id));
    state.shown[message.id] = true;
    var later = null;
    var nodes = log.querySelectorAll("[data-id]");
    for (var i = 0; i < nodes.length; i++) {
      if (Number(nodes[i].getAttribute("data-id")) > message.id) {
        later = nodes[i];
        break;
      }
    }
    log.insertBefore(node, later);
    if (state.lastId === null || message.id > state.lastId) {
      state.lastId = message.id;
    }
    log.scrollTop = log.scrollHeight;
    if (panel.hidden && author !== "customer") {
      launcher.classList.add("unread");
      launcher.setAttribute("aria-label", "Open the chat (new message): " + title);
    }
  }

  // "from: <title>" under an answer, one per source the shop named; a source with an
  // address links to it. Titles are the shop's own text, set as text like the rest.
  function appendSources(node, sources) {
    if (!Array.isArray(sources)) {
      return;
    }
    var titled = sources.filter(function (source) {
      return source && typeof source.title === "string" && source.title;
    });
    if (titled.length === 0) {
      return;
    }
    var line = el("span", "sources", "from: ");
    titled.forEach(function (source, i) {
      if (i > 0) {
        line.appendChild(document.createTextNode(", "));
      }
      if (typeof source.url === "string" && /^https?:\/\//.test(source.url)) {
        var link = el("a", "link", source.title);
        link.href = source.url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        line.appendChild(link);
      } else {
        line.appendChild(document.createTextNode(source.title));
      }
    });
    node.appendChild(line);
  }

  // A generated answer arrives sentence by sentence as "draft" frames, each holding the
  // text so far; one bubble shows it until the stored reply comes.
  function showDraft(text) {
    if (typeof text !== "string") {
      return;
    }
    if (!state.draft) {
      state.draft = bubble("assistant draft", authorName("assistant"), "");
      state.draft.setAttribute("aria-busy", "true");
      log.appendChild(state.draft);
    }
    var who = state.draft.firstChild;
    while (state.draft.lastChild && state.draft.lastChild !== who) {
      state.draft.removeChild(state.draft.lastChild);
    }
    appendWithLinks(state.draft, text);
    log.scrollTop = log.scrollHeight;
  }

  function clearDraft() {
    if (state.draft) {
      log.removeChild(state.draft);
      state.draft = null;
    }
  }

  function setStatus(status) {
    if (!STATUS_TEXT[status]) {
      return;
    }
    if (status !== "resolved") {
      // Reopened: the next resolution asks again.
      state.rated = false;
    }
    state.status = status;
    statusLine.textContent = STATUS_TEXT[status];
    showRating();
  }

  function showRating() {
    rating.hidden = state.status !== "resolved" || !state.token;
    ratingQuestion.textContent = state.rated
      ? "Thank you for your rating."
      : "How did we do? Rate this conversation:";
    scoreButtons.forEach(function (button) {
      button.hidden = state.rated;
    });
  }

  function rate(score) {
    if (!state.token) {
      return;
    }
    showError("");
    var url = apiUrl("/" + encodeURIComponent(state.token) + "/rating");
    request("POST", url, { score: score })
      .then(function (result) {
        if (result.status === 200) {
          state.rated = true;
          showRating();
        } else {
          showError(failureText(result));
        }
      })
      .catch(function (failure) {
        showError(failureText(failure));
      });
  }

  function showError(text) {
    errorLine.textContent = text;
    errorLine.hidden = !text;
  }

  // ----- opening and closing

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.classList.remove("unread");
    launcher.setAttribute("aria-label", "Open the chat: " + title);
    log.scrollTop = log.scrollHeight;
    input.focus();
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) {
      open();
    } else {
      close();
    }
  });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send();
  });

  // ----- talking to the server

  function apiUrl(path) {
    return new URL("api/v1/widget/conversations" + path, base).href;
  }

  function messagesUrl(after) {
    var url = apiUrl("/" + encodeURIComponent(state.token) + "/messages");
    return after === null ? url : url + "?after=" + encodeURIComponent(after);
  }

  // Resolves to {status, body, response}; rejects only when the network failed.
  function request(method, url, body) {
    var options = { method: method, headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response
        .json()
        .catch(function () {
          return null;
        })
        .then(function (json) {
          return { status: response.status, body: json, response: response };
        });
    });
  }

  function forget() {
    state.token = null;
    state.lastId = null;
    saveToken(null);
    closeSocket();
  }

  function startConversation() {
    if (state.token) {
      return Promise.resolve(state.token);
    }
    return request("POST", apiUrl("")).then(function (result) {
      if (result.status !== 201 || !result.body || !result.body.token) {
        throw result;
      }
      state.token = result.body.token;
      saveToken(state.token);
      connect();
      return state.token;
    });
  }

  function applyMessages(body) {
    if (!body) {
      return;
    }
    if (body.conversation) {
      setStatus(body.conversation.status);
    }
    (body.messages || []).forEach(show);
  }

  // Fetches what the socket may have missed; also the way back after a reload.
  function catchUp() {
    if (!state.token) {
      return Promise.resolve();
    }
    return request("GET", messagesUrl(state.lastId)).then(
      function (result) {
        if (result.status === 404) {
          // The conversation is gone (its data was cleared): start afresh next time.
          forget();
        } else if (result.status === 200) {
          applyMessages(result.body);
        }
      },
      function () {
        // Offline: the next reconnect tries again.
      }
    );
  }

  function send() {
    var text = input.value;
    if (!text.trim() || state.sending) {
      return;
    }
    state.sending = true;
    sendButton.disabled = true;
    showError("");
    postMessage(text, true)
      .then(function (result) {
        if (result.status === 200) {
          input.value = "";
          applyMessages(result.body);
        } else {
          showError(failureText(result));
        }
      })
      .catch(function (failure) {
        showError(failureText(failure));
      })
      .then(function () {
        state.sending = false;
        sendButton.disabled = false;
        input.focus();
      });
  }

  function postMessage(text, retryUnknown) {
    return startConversation().then(function () {
      return request("POST", messagesUrl(null), { text: text }).then(function (result) {
        if (result.status === 404 && retryUnknown) {
          // The stored conversation no longer exists: open a new one, once.
          forget();
          return postMessage(text, false);
        }
        return result;
      });
    });
  }

  // What to tell the customer when a message could not be sent; the text stays in the
  // input so that nothing typed is lost.
  function failureText(result) {
    var status = result && typeof result.status === "number" ? result.status : 0;
    if (status === 413) {
      return "That message is too long. Please shorten it and send it again.";
    }
    if (status === 429) {
      var wait = parseInt(result.response.headers.get("Retry-After"), 10);
      var when = wait > 0 ? "in " + wait + " second" + (wait === 1 ? "" : "s") : "shortly";
      return "You are sending messages too quickly. Please try again " + when + ".";
    }
    if (status === 503) {
      return "The assistant is getting ready. Please send your message again shortly.";
    }
    if (status === 400 && result.body && result.body.error) {
      return String(result.body.error);
    }
    if (status === 403) {
      return "This chat is not available on this website.";
    }
    if (status === 0) {
      return "Your message could not be sent: check your connection and try again.";
    }
    return "Your message could not be sent. Please try again.";
  }

  // ----- the live connection

  function socketUrl() {
    var url = new URL(
      "api/v1/widget/conversations/" + encodeURIComponent(state.token) + "/live",
      base
    );
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.href;
  }

  function connect() {
    if (!state.token || state.socket || typeof WebSocket !== "function") {
      return;
    }
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    var socket;
    try {
      socket = new WebSocket(socketUrl());
    } catch (e) {
      scheduleReconnect();
      return;
    }
    state.socket = socket;
    socket.onopen = function () {
      state.reconnectMs = RECONNECT_FIRST_MS;
      var resume = { type: "resume" };
      if (state.lastId !== null) {
        resume.after = state.lastId;
      }
      socket.send(JSON.stringify(resume));
    };
    socket.onmessage = function (event) {
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (frame && frame.type === "message") {
        show(frame.message);
      } else if (frame && frame.type === "status") {
        setStatus(frame.status);
      } else if (frame && frame.type === "draft") {
        showDraft(frame.text);
      }
    };
    socket.onclose = function () {
      if (state.socket === socket) {
        state.socket = null;
        scheduleReconnect();
      }
    };
  }

  function closeSocket() {
    var socket = state.socket;
    state.socket = null;
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    if (socket) {
      socket.close();
    }
  }

  // Waits twice as long after each failure (with some jitter, so that many widgets
  // do not all return at once after a server restart), fetching over HTTP meanwhile.
  function scheduleReconnect() {
    if (!state.token || state.reconnectTimer) {
      return;
    }
    var delay = state.reconnectMs * (0.75 + Math.random() / 2);
    state.reconnectMs = Math.min(state.reconnectMs * 2, RECONNECT_MAX_MS);
    state.reconnectTimer = setTimeout(function () {
      state.reconnectTimer = null;
      catchUp().then(connect);
    }, delay);
  }

  function reconnectNow() {
    if (!state.token) {
      return;
    }
    closeSocket();
    state.reconnectMs = RECONNECT_FIRST_MS;
    catchUp().then(connect);
  }

  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !state.socket) {
      reconnectNow();
    }
  });
  var lastTick = Date.now();
  setInterval(function () {
    var now = Date.now();
    if (now - lastTick > WAKE_GAP_MS) {
      reconnectNow();
    }
    lastTick = now;
  }, WAKE_CHECK_MS);

  // ----- start

  function start() {
    document.body.appendChild(host);
    state.token = loadToken();
    if (state.token) {
      catchUp().then(connect);
    }
  }

  if (document.body) {
    start();
  } else {
    document.addEventListener("DOMContentLoaded", start);
  }
})();
