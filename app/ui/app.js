// Corral's chat: wires the page to the agent server API (docs/api.md).
// Plain ES modules, no build step; server text only reaches the DOM as text.

import { ApiError, api } from "./lib/api.js";
import {
  renderAnswer,
  renderPending,
  renderQuestion,
  renderRequestFailure,
} from "./lib/answer.js";
import { renderDatasets, renderSuggestions } from "./lib/catalog.js";
import { withChart } from "./lib/chart.js";
import { renderIsolationNotice } from "./lib/readiness.js";
import { announce, h, replaceChildren } from "./lib/dom.js";

const STORAGE_KEY = "corral.conversationId";
const MAX_RETRY_WAIT_S = 60;

const $ = (id) => document.getElementById(id);
const ui = {
  form: $("ask-form"),
  input: $("ask-input"),
  button: $("ask-button"),
  datasetSelect: $("dataset-select"),
  messages: $("messages"),
  welcome: $("welcome"),
  thread: $("thread"),
  title: $("conversation-title"),
  history: $("conversation-list"),
  historyEmpty: $("history-empty"),
  newChat: $("new-chat"),
  suggestions: $("suggestions"),
  datasets: $("datasets"),
  banner: $("banner"),
};

const state = {
  conversationId: null,
  conversations: [],
  datasetNames: [],
  busy: false,
};

const answerContext = {
  onAsk: (question, dataset) => ask(question, dataset),
  get datasetNames() {
    return state.datasetNames;
  },
};

// --- conversation id in localStorage (so history survives a reload) ---------

function storedConversationId() {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: history still works within the page
  }
}

function rememberConversation(id) {
  state.conversationId = id;
  try {
    if (id) window.localStorage.setItem(STORAGE_KEY, id);
    else window.localStorage.removeItem(STORAGE_KEY);
  } catch {
    /* storage disabled */
  }
  markCurrentConversation();
}

// --- page chrome ----------------------------------------------------------------

function showBanner(message, retry) {
  replaceChildren(
    ui.banner,
    h("span", { text: message }),
    retry ? h("button", { type: "button", class: "btn btn-secondary btn-small", onclick: retry }, "Retry") : null,
  );
  ui.banner.hidden = false;
}

function hideBanner() {
  ui.banner.hidden = true;
  replaceChildren(ui.banner);
}

function setBusy(busy) {
  state.busy = busy;
  ui.input.disabled = busy;
  ui.button.disabled = busy;
  ui.datasetSelect.disabled = busy;
  ui.form.classList.toggle("busy", busy);
  ui.form.setAttribute("aria-busy", String(busy));
  ui.button.querySelector(".btn-label").textContent = busy ? "Running…" : "Ask";
  // One question at a time: switching conversations mid-run would put the answer
  // in the wrong place.
  for (const b of document.querySelectorAll(
    ".suggestion, .chip, #new-chat, .conversation-open, .conversation-delete",
  )) b.disabled = busy;
}

function setTitle(text) {
  ui.title.textContent = text || "New conversation";
  document.title = text ? `${text} — Corral` : "Corral — ask your data";
}

function updateWelcome() {
  ui.welcome.hidden = ui.messages.children.length > 0;
}

function scrollToTurn(turn) {
  const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  turn.scrollIntoView({ block: "start", behavior: smooth ? "smooth" : "auto" });
}

// --- catalog: suggestions and datasets --------------------------------------------

async function loadCatalog() {
  const [datasets, suggestions] = await Promise.allSettled([api.datasets(), api.suggestions()]);
  if (datasets.status === "fulfilled") {
    const list = datasets.value || [];
    state.datasetNames = list.map((d) => d.name);
    replaceChildren(ui.datasets, renderDatasets(list));
    replaceChildren(
      ui.datasetSelect,
      h("option", { value: "" }, "Any"),
      list.map((d) => h("option", { value: d.name }, d.name)),
    );
  } else {
    replaceChildren(ui.datasets, h("p", { class: "muted", text: datasets.reason.message }));
  }
  if (suggestions.status === "fulfilled") {
    replaceChildren(ui.suggestions, renderSuggestions(suggestions.value || [], ask));
  }
  const failed = [datasets, suggestions].find((r) => r.status === "rejected");
  if (failed) {
    showBanner(failed.reason.message, () => {
      hideBanner();
      loadCatalog();
      loadHistory();
    });
  }
}

// --- history sidebar -----------------------------------------------------------

async function loadHistory() {
  try {
    state.conversations = (await api.conversations()) || [];
  } catch (err) {
    ui.historyEmpty.textContent = `History unavailable: ${err.message}`;
    ui.historyEmpty.hidden = false;
    return;
  }
  renderHistory();
}

function renderHistory() {
  ui.historyEmpty.textContent = "No conversations yet.";
  ui.historyEmpty.hidden = state.conversations.length > 0;
  replaceChildren(
    ui.history,
    state.conversations.map((c) => {
      const title = c.title || "Untitled conversation";
      const when = new Date(c.updated_at || c.created_at);
      const meta = `${c.message_count ?? 0} question${c.message_count === 1 ? "" : "s"}` +
        (Number.isNaN(when.getTime()) ? "" : ` · ${when.toLocaleDateString()}`);
      return h(
        "li",
        { class: "conversation-item", "data-id": c.id },
        h(
          "button",
          { type: "button", class: "conversation-open", onclick: () => openConversation(c.id) },
          h("span", { class: "conversation-title", text: title }),
          h("span", { class: "conversation-meta", text: meta }),
        ),
        h(
          "button",
          {
            type: "button",
            class: "conversation-delete",
            "aria-label": `Delete conversation: ${title}`,
            title: "Delete conversation",
            onclick: () => deleteConversation(c.id, title),
          },
          "×",
        ),
      );
    }),
  );
  markCurrentConversation();
  if (state.busy) setBusy(true); // new buttons follow the running state
}

function markCurrentConversation() {
  for (const li of ui.history.querySelectorAll(".conversation-item")) {
    const open = li.querySelector(".conversation-open");
    if (li.dataset.id === state.conversationId) open.setAttribute("aria-current", "true");
    else open.removeAttribute("aria-current");
  }
  const current = state.conversations.find((c) => c.id === state.conversationId);
  if (current) setTitle(current.title);
}

async function deleteConversation(id, title) {
  if (!window.confirm(`Delete “${title}”? This cannot be undone.`)) return;
  try {
    await api.deleteConversation(id);
  } catch (err) {
    showBanner(err.message);
    return;
  }
  if (id === state.conversationId) newChat();
  await loadHistory();
  announce(`Deleted conversation ${title}.`);
}

// --- conversations -------------------------------------------------------------

function newChat() {
  rememberConversation(null);
  replaceChildren(ui.messages);
  setTitle("");
  updateWelcome();
  ui.input.focus();
}

async function openConversation(id, { quiet = false } = {}) {
  let conversation;
  try {
    conversation = await api.conversation(id);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      // Deleted elsewhere, or another server: start fresh instead of failing.
      rememberConversation(null);
      if (!quiet) showBanner("That conversation no longer exists.");
      await loadHistory();
      return;
    }
    showBanner(err.message, () => {
      hideBanner();
      openConversation(id);
    });
    return;
  }
  rememberConversation(conversation.id);
  setTitle(conversation.title);
  replaceChildren(
    ui.messages,
    (conversation.messages || []).map((answer) =>
      h("li", { class: "turn" }, renderQuestion(answer.question),
        withChart(renderAnswer(answer, answerContext), answer)),
    ),
  );
  updateWelcome();
  const last = ui.messages.lastElementChild;
  if (last) last.scrollIntoView({ block: "start" });
  if (!quiet) announce(`Opened conversation ${conversation.title || ""}.`);
}

// --- asking ------------------------------------------------------------------------

function wait(seconds, onTick) {
  return new Promise((resolve) => {
    let left = seconds;
    onTick(left);
    const timer = window.setInterval(() => {
      left -= 1;
      if (left <= 0) {
        window.clearInterval(timer);
        resolve();
      } else onTick(left);
    }, 1000);
  });
}

/** POST /api/chat; on 429 wait for Retry-After and try exactly once more. */
async function chatOnce(body, pending) {
  try {
    return await api.chat(body);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 429) throw err;
    const seconds = Math.min(Math.max(err.retryAfter ?? 3, 1), MAX_RETRY_WAIT_S);
    announce(`All sandboxes are busy. Retrying in ${seconds} seconds.`);
    await wait(seconds, (left) =>
      pending.setStatus(`All sandboxes are busy — retrying in ${left} s…`, true),
    );
    pending.setStatus("Retrying in a fresh sandbox…");
    try {
      return await api.chat(body);
    } catch (again) {
      if (again instanceof ApiError && again.status === 429) {
        again.title = "All sandboxes are still busy";
      }
      throw again;
    }
  }
}

async function ask(question, dataset) {
  question = (question || "").trim();
  if (!question || state.busy) return;
  hideBanner();
  const body = { question };
  if (state.conversationId) body.conversation_id = state.conversationId;
  const chosen = dataset ?? ui.datasetSelect.value;
  if (chosen) body.dataset = chosen;

  if (!state.conversationId) setTitle(question);
  const pending = renderPending();
  const turn = h("li", { class: "turn" }, renderQuestion(question), pending.el);
  ui.messages.append(turn);
  updateWelcome();
  scrollToTurn(turn);
  setBusy(true);
  try {
    const answer = await chatOnce(body, pending);
    pending.el.replaceWith(withChart(renderAnswer(answer, answerContext), answer));
    const rows = answer.result && answer.result.status === "ok"
      ? ` ${answer.result.row_count} rows.` : "";
    announce(`Answer: ${answer.message || ""}${rows}`);
    rememberConversation(answer.conversation_id);
    loadHistory(); // not awaited: the ask box is usable again at once
  } catch (err) {
    const failure = renderRequestFailure(err, () => {
      turn.remove();
      updateWelcome();
      ask(question, dataset);
    });
    pending.el.replaceWith(failure);
    announce(`${err.title || "The question was not answered"}: ${err.message}`);
  } finally {
    setBusy(false);
    scrollToTurn(turn);
    ui.input.focus();
  }
}

// --- events --------------------------------------------------------------------------

ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  const question = ui.input.value;
  if (!question.trim() || state.busy) return;
  ui.input.value = "";
  ask(question);
});

ui.input.addEventListener("keydown", (event) => {
  // Enter sends, Shift+Enter is a new line; an IME composition keeps its Enter.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.form.requestSubmit();
  }
});

ui.newChat.addEventListener("click", newChat);

async function showIsolation() {
  try {
    const notice = renderIsolationNotice(await api.readiness());
    if (notice) ui.banner.after(notice);
  } catch {
    // not ready: a question will say so; nothing to add here
  }
}

async function start() {
  const saved = storedConversationId();
  await Promise.all([
    showIsolation(),
    loadCatalog(),
    loadHistory(),
    saved ? openConversation(saved, { quiet: true }) : Promise.resolve(),
  ]);
  updateWelcome();
  document.body.dataset.ready = "true"; // tests wait for this
}

start();
