// The agents' inbox: sign in, see conversations arrive live, open one, reply, add a
// private note, assign, hand back, resolve.
//
// Everything a customer wrote is put on the page with textContent, never parsed as
// HTML, so it shows as text whatever it contains. Changes are sent with the
// X-Frontdesk-Inbox header, which the server requires of requests signed in by cookie.
"use strict";

const state = { me: null, openId: null, events: null, canned: new Map() };

const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const options = { method, headers: { "X-Frontdesk-Inbox": "1" }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.error || `${method} ${path} failed (${response.status})`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function time(unixMs) {
  return new Date(unixMs).toLocaleString();
}

function showSignIn() {
  state.me = null;
  if (state.events) state.events.close();
  $("sign-in").hidden = false;
  $("inbox").hidden = true;
  $("sign-out").hidden = true;
  $("owner-pages").hidden = true;
  $("who").textContent = "";
}

async function showInbox(me) {
  state.me = me;
  $("sign-in").hidden = true;
  $("inbox").hidden = false;
  $("sign-out").hidden = false;
  $("who").textContent = `${me.email} (${me.role})`;
  // The server refuses the owner's pages to agents; the link is only a convenience.
  $("owner-pages").hidden = me.role !== "owner";
  await refreshList();
  listen();
}

// The list's query from the filters: "mine" is the signed-in member's assigned ones.
function listQuery() {
  const query = new URLSearchParams();
  const status = $("filter").value;
  if (status === "mine") {
    query.set("status", "assigned");
    query.set("assignee", state.me.email);
  } else if (status) {
    query.set("status", status);
  }
  const channel = $("channel-filter").value;
  if (channel) query.set("channel", channel);
  const assignee = $("assignee-filter").value.trim();
  if (assignee && status !== "mine") query.set("assignee", assignee);
  const text = query.toString();
  return text ? `?${text}` : "";
}

async function refreshList() {
  // The server lists the latest active first: that is what needs an answer.
  const { conversations, more } = await api("GET", `/api/v1/conversations${listQuery()}`);
  const list = $("conversations");
  list.replaceChildren();
  $("more-note").hidden = !more;
  if (conversations.length === 0) {
    list.append(element("li", "Nothing here."));
  }
  for (const conversation of conversations) {
    const button = element("button");
    button.type = "button";
    button.dataset.id = conversation.id;
    if (conversation.id === state.openId) button.setAttribute("aria-current", "true");
    const shopping = conversation.buying_intent_at ? " · shopping" : "";
    const title =
      `#${conversation.id} · ${conversation.channel} · ${conversation.status}${shopping}`;
    button.append(element("strong", title));
    const summary = conversation.handoff_summary || "";
    button.append(element("span", summary, "preview"));
    button.addEventListener("click", () => openConversation(conversation.id));
    const item = element("li");
    item.append(button);
    list.append(item);
  }
}

function messageItem(message) {
  const internal = message.visibility === "internal";
  const item = element("li", undefined, internal ? "internal" : message.author);
  item.dataset.id = message.id;
  const who = internal ? "private note" : message.author;
  let meta = `${who} · ${time(message.created_at)}`;
  if (message.decision) {
    const decision = message.decision;
    meta += ` · ${decision.decision} ${decision.confidence.toFixed(2)}`;
    if (decision.reason) meta += ` (${decision.reason})`;
    const generation = decision.generation;
    if (generation) {
      meta += ` · ${generation.outcome.replace("_", " ")} by ${generation.model}`;
      if (generation.cause) meta += ` (${generation.cause})`;
    }
  }
  if (message.sources && message.sources.length > 0) {
    const named = message.sources.map((s) => s.title ? `${s.kind} "${s.title}"` : `${s.kind}:${s.id}`);
    meta += ` · from ${named.join(", ")}`;
  }
  const delivery = deliveryNote(message);
  if (delivery) meta += ` · ${delivery}`;
  if (message.edited_at) meta += ` · edited ${time(message.edited_at)}`;
  // Left unanswered on purpose: an auto-reply or a bounce must not start a mail loop.
  if (message.automated) meta += ` · automated, not answered (${message.automated})`;
  item.append(element("span", meta, "meta"));
  if (message.subject) item.append(element("strong", message.subject, "subject"));
  item.append(document.createTextNode(message.text));
  (message.attachments || []).forEach((attachment, position) => {
    item.append(attachmentItem(message, attachment, position));
  });
  if (message.delivery === "failed") item.classList.add("failed");
  return item;
}

// How far a reply to a channel got; the widget's own messages need no note.
function deliveryNote(message) {
  if (message.author === "customer" || message.visibility === "internal") return "";
  if (message.delivery === "failed") {
    return `not delivered: ${message.delivery_error || "the channel refused it"}`;
  }
  if (message.delivery === "pending") return "sending…";
  if (message.receipt && message.receipt !== "sent") return message.receipt;
  return "";
}

// A kept file is a download link (served so that nothing in it can run here); any other
// attachment is named only. Text content only: names come from the customer.
function attachmentItem(message, attachment, position) {
  const note = attachmentNote(attachment);
  if (!attachment.kept) return element("span", note, "attachment");
  const link = element("a", note, "attachment");
  link.href = `/api/v1/messages/${message.id}/attachments/${position}`;
  link.download = attachment.file_name || "";
  return link;
}

function attachmentNote(attachment) {
  const place = attachment.location;
  if (place) {
    const named = [place.name, place.address].filter(Boolean).join(", ");
    return `location: ${named || ""} (${place.latitude}, ${place.longitude})`;
  }
  const name = attachment.file_name || attachment.kind;
  const type = attachment.mime_type ? ` (${attachment.mime_type})` : "";
  return `attachment: ${name}${type}`;
}

// A message seen again (delivered, read, edited) replaces its earlier version; a new one
// goes where its sending time puts it, since channels deliver out of order now and then.
function appendMessage(message) {
  const list = $("messages");
  const item = messageItem(message);
  item.dataset.sentAt = String(message.sent_at || message.created_at);
  const existing = list.querySelector(`li[data-id="${Number(message.id)}"]`);
  if (existing) {
    existing.replaceWith(item);
    return;
  }
  const sentAt = Number(item.dataset.sentAt);
  const later = [...list.children].find((other) => Number(other.dataset.sentAt) > sentAt);
  list.insertBefore(item, later || null);
}

function showConversation(conversation) {
  $("conversation-title").textContent =
    `Conversation #${conversation.id} · ${conversation.channel} · ${conversation.status}` +
    (conversation.assignee ? ` · ${conversation.assignee}` : "");
  $("conversation-summary").textContent = conversation.handoff_summary || "";
  $("assign").disabled = conversation.status === "resolved";
  $("handback").disabled = !["waiting", "assigned"].includes(conversation.status);
  $("resolve").disabled = conversation.status === "resolved";
}

// The canned replies, filled in with this conversation's customer's name.
async function loadCannedReplies(id) {
  const { replies } = await api("GET", `/api/v1/canned-replies?conversation=${id}`);
  const select = $("canned");
  select.replaceChildren(select.options[0]);
  state.canned = new Map();
  for (const reply of replies) {
    const option = element("option", reply.title);
    option.value = String(reply.id);
    state.canned.set(option.value, reply.text);
    select.append(option);
  }
}

function useCannedReply() {
  const select = $("canned");
  const text = state.canned.get(select.value);
  select.value = "";
  if (text === undefined) return;
  const field = $("reply-text");
  // Added after what is typed already, never over it.
  field.value = field.value.trim() ? `${field.value.trimEnd()}\n\n${text}` : text;
  field.focus();
}

async function openConversation(id) {
  state.openId = id;
  loadCannedReplies(id).catch(() => {});
  const { conversation, messages } = await api("GET", `/api/v1/conversations/${id}`);
  $("conversation").hidden = false;
  $("messages").replaceChildren();
  showConversation(conversation);
  messages.forEach(appendMessage);
  $("action-error").textContent = "";
  for (const button of $("conversations").querySelectorAll("button")) {
    button.toggleAttribute("aria-current", Number(button.dataset.id) === id);
  }
  $("reply-text").focus();
}

async function act(path, body) {
  $("action-error").textContent = "";
  try {
    const { conversation, messages } = await api("POST", path, body);
    showConversation(conversation);
    messages.forEach(appendMessage);
    await refreshList();
  } catch (error) {
    $("action-error").textContent = error.message;
  }
}

function listen() {
  if (state.events) state.events.close();
  const events = new EventSource("/api/v1/events");
  events.addEventListener("message", (event) => {
    const { message } = JSON.parse(event.data);
    if (message.conversation_id === state.openId) appendMessage(message);
    refreshList().catch(() => {});
  });
  events.addEventListener("conversation", (event) => {
    const { conversation } = JSON.parse(event.data);
    if (conversation.id === state.openId) showConversation(conversation);
    refreshList().catch(() => {});
  });
  events.addEventListener("lagged", () => {
    refreshList().catch(() => {});
    if (state.openId !== null) openConversation(state.openId).catch(() => {});
  });
  state.events = events;
}

function wire() {
  $("sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    $("sign-in-error").textContent = "";
    try {
      const me = await api("POST", "/api/v1/sessions", {
        email: form.get("email"),
        password: form.get("password"),
      });
      event.target.reset();
      await showInbox(me);
    } catch (error) {
      $("sign-in-error").textContent = error.message;
    }
  });
  $("sign-out").addEventListener("click", async () => {
    await api("DELETE", "/api/v1/sessions").catch(() => {});
    showSignIn();
  });
  $("canned").addEventListener("change", useCannedReply);
  $("filter").addEventListener("change", () => refreshList());
  $("channel-filter").addEventListener("change", () => refreshList());
  $("assignee-filter").addEventListener("change", () => refreshList());
  $("reply").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("reply-text").value;
    if (!text.trim() || state.openId === null) return;
    const note = event.submitter && event.submitter.id === "send-note";
    const path = `/api/v1/conversations/${state.openId}/${note ? "notes" : "messages"}`;
    await act(path, { text });
    if (!$("action-error").textContent) $("reply-text").value = "";
  });
  $("assign").addEventListener("click", () =>
    act(`/api/v1/conversations/${state.openId}/assign`, {}));
  $("handback").addEventListener("click", () =>
    act(`/api/v1/conversations/${state.openId}/handback`));
  $("resolve").addEventListener("click", () =>
    act(`/api/v1/conversations/${state.openId}/resolve`));
}

document.addEventListener("DOMContentLoaded", async () => {
  wire();
  try {
    await showInbox(await api("GET", "/api/v1/me"));
  } catch (error) {
    showSignIn();
  }
});
