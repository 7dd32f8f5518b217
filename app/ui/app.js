// Corral's chat: wires the page to the agent server API (docs/api.md): sign-in first
// (lib/signin.js), then the chat, "My tokens" and the admin page (#tokens, #admin).
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
import { markPage, renderAccount, signOut } from "./lib/account.js";
import { renderAdmin, renderMyTokens } from "./lib/pages.js";
import { renderSetup, renderSignIn } from "./lib/signin.js";
import {
  adoptOwner,
  forgetAll,
  saveDraft,
  storeConversationId,
  storedConversationId,
  takeDraft,
} from "./lib/memory.js";

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
  signin: $("signin-view"),
  app: $("app-view"),
  account: $("account-menu"),
  page: $("page-view"),
};

const state = {
  config: null, // GET /api/auth/config
  me: null, // GET /api/auth/me; null without sign-in (AUTH_MODE=none)
  view: "loading",
  conversationId: null,
  conversations: [],
  datasetNames: [],
  busy: false,
};

const answerContext = {
  onAsk: (question, dataset) => ask(question, dataset),
  onRerun: (edit, editedQuestion) => rerun(edit, editedQuestion),
  get datasetNames() {
    return state.datasetNames;
  },
};

function rememberConversation(id) {
  state.conversationId = id;
  storeConversationId(id, state.me && state.me.id);
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
    ".suggestion, .chip, .rerun, .clarify-choice, #new-chat, .conversation-open, .conversation-delete",
  )) b.disabled = busy;
}

function setTitle(text) {
  state.chatTitle = text;
  if (state.view !== "chat") return; // the page's own heading stays until the chat is back
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
  showChat();
  rememberConversation(null);
  replaceChildren(ui.messages);
  setTitle("");
  updateWelcome();
  ui.input.focus();
}

async function openConversation(id, { quiet = false } = {}) {
  if (!quiet) showChat();
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
/** `call()` (one request that answers with an Answer), waited for once more after a 429. */
async function withRetry(call, pending) {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 429) throw err;
    const seconds = Math.min(Math.max(err.retryAfter ?? 3, 1), MAX_RETRY_WAIT_S);
    // A per-user limit (USER_RUNS_PER_MINUTE, USER_MAX_SANDBOXES) is the person's own,
    // said in the server's words; otherwise every sandbox of the server is busy.
    const own = /USER_(RUNS_PER_MINUTE|MAX_SANDBOXES)/.test(err.message);
    const reason = own
      ? err.message.replace(/;\s*(retry in \d+ s|wait for one to finish)\.?$/i, "")
      : "All sandboxes are busy";
    announce(`${reason}. Retrying in ${seconds} seconds.`);
    await wait(seconds, (left) => pending.setStatus(`${reason} — retrying in ${left} s…`, true));
    pending.setStatus("Retrying in a fresh sandbox…");
    try {
      return await call();
    } catch (again) {
      if (again instanceof ApiError && again.status === 429) {
        again.title = own ? "Still over your limit" : "All sandboxes are still busy";
      }
      throw again;
    }
  }
}

/** One turn on screen: the question shown, then the answer `call()` brings, or what
 * went wrong (with a way to try again via `retry`). */
async function runTurn(shown, call, retry) {
  hideBanner();
  if (!state.conversationId) setTitle(shown);
  const pending = renderPending();
  const turn = h("li", { class: "turn" }, renderQuestion(shown), pending.el);
  ui.messages.append(turn);
  updateWelcome();
  scrollToTurn(turn);
  setBusy(true);
  try {
    const answer = await withRetry(call, pending);
    pending.el.replaceWith(withChart(renderAnswer(answer, answerContext), answer));
    const rows = answer.result && answer.result.status === "ok"
      ? ` ${answer.result.row_count} rows.` : "";
    announce(`Answer: ${answer.message || ""}${rows}`);
    rememberConversation(answer.conversation_id);
    loadHistory(); // not awaited: the ask box is usable again at once
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && retry.draft) saveDraft(retry.draft); // see onUnauthorized
    const failure = renderRequestFailure(err, () => {
      turn.remove();
      updateWelcome();
      retry();
    });
    pending.el.replaceWith(failure);
    announce(`${err.title || "The question was not answered"}: ${err.message}`);
  } finally {
    setBusy(false);
    scrollToTurn(turn);
    ui.input.focus();
  }
}

async function ask(question, dataset) {
  question = (question || "").trim();
  if (!question || state.busy) return;
  const body = { question };
  if (state.conversationId) body.conversation_id = state.conversationId;
  const chosen = dataset ?? ui.datasetSelect.value;
  if (chosen) body.dataset = chosen;
  const retry = () => ask(question, dataset);
  retry.draft = question;
  await runTurn(question, () => api.chat(body), retry);
}

/** Run an answer's edited code again in this conversation (the server's guard decides). */
async function rerun(edit, editedQuestion) {
  if (!edit.code.trim() || state.busy || !state.conversationId) return;
  const cid = state.conversationId;
  const language = edit.language === "python" ? "Python" : "SQL";
  // The server names the new answer the same way (app/chat.py Chat.rerun).
  const of = (editedQuestion || "").replace(/^Edited (SQL|Python) of: /, "");
  const shown = `Edited ${language}${of ? ` of: ${of}` : ""}`;
  await runTurn(shown, () => api.rerun(cid, edit), () => rerun(edit, editedQuestion));
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

// --- pages: chat, My tokens, admin (the URL's #fragment) ----------------------------

function pageOfHash() {
  const hash = window.location.hash.replace(/^#/, "");
  return hash === "admin" || hash === "tokens" ? hash : "chat";
}

function route() {
  if (state.view === "signin" || state.view === "setup") return;
  const page = pageOfHash();
  state.view = page;
  document.body.dataset.view = page;
  const chat = page === "chat";
  ui.thread.hidden = !chat;
  ui.form.hidden = !chat;
  ui.page.hidden = chat;
  if (chat) {
    replaceChildren(ui.page);
    setTitle(state.chatTitle);
  } else {
    hideBanner();
    ui.title.textContent = page === "admin" ? "Admin" : "My tokens";
    document.title = `${ui.title.textContent} — Corral`;
    replaceChildren(ui.page, page === "admin" ? renderAdmin(state.me) : renderMyTokens(state.me));
  }
  if (state.me) markPage(ui.account, page);
}

function showChat() {
  if (state.view === "chat") return;
  window.history.pushState(null, "", window.location.pathname);
  route();
}

// --- sign-in ---------------------------------------------------------------------------

function showAuthPage(view, content) {
  state.view = view;
  document.body.dataset.view = view;
  ui.app.hidden = true;
  replaceChildren(ui.signin, content);
  ui.signin.hidden = false;
  const first = ui.signin.querySelector("input, a.btn");
  if (first) first.focus();
  document.title = "Sign in — Corral";
  document.body.dataset.ready = "true";
}

// A fresh page after sign-in: nothing of the previous person's stays in memory.
const reloadSignedIn = () => window.location.reload();

function showSignIn({ authError = null, notice = null } = {}) {
  const config = state.config || { modes: ["local"], oidc_login_url: null };
  showAuthPage("signin", renderSignIn(config, { authError, notice, onSignedIn: reloadSignedIn }));
}

/** Any 401 (an ended session, a disabled account): keep the typed question, ask to sign in. */
function onUnauthorized() {
  saveDraft(ui.input.value);
  if (state.view === "signin" || state.view === "setup") return;
  showSignIn({ notice: "Your session has ended. Sign in again; what you typed is kept." });
}

/** ?auth_error=<code> after a failed OIDC sign-in; removed from the address bar. */
function takeAuthError() {
  const params = new URLSearchParams(window.location.search);
  const code = params.get("auth_error");
  if (code !== null) {
    params.delete("auth_error");
    const rest = params.toString();
    window.history.replaceState(null, "", window.location.pathname +
      (rest ? `?${rest}` : "") + window.location.hash);
  }
  return code;
}

/** Who is signed in: Me, null when the server needs nobody, or "signin"/"setup". */
async function identify() {
  try {
    state.config = await api.authConfig();
  } catch (err) {
    // An unreachable server: the chat page says so (banner); 404: no sign-in there.
    return null;
  }
  if ((state.config.modes || []).includes("none")) return api.me().catch(() => null);
  try {
    return await api.me(); // signed in (e.g. an API token) even before an admin exists
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) return null;
    return state.config.setup_required ? "setup" : "signin";
  }
}

// --- start -------------------------------------------------------------------------------

async function showApp() {
  const saved = storedConversationId();
  await Promise.all([
    showIsolation(),
    loadCatalog(),
    loadHistory(),
    saved ? openConversation(saved, { quiet: true }) : Promise.resolve(),
  ]);
  updateWelcome();
  const draft = takeDraft();
  if (draft && !ui.input.value) ui.input.value = draft;
}

function leave() {
  forgetAll();
  signOut((err) => showBanner(`Sign-out failed: ${err.message}`));
}

async function start() {
  api.session.onUnauthorized = onUnauthorized;
  const authError = takeAuthError();
  const me = await identify();
  if (me === "setup") {
    showAuthPage("setup", renderSetup({ onSignedIn: reloadSignedIn }));
    return;
  }
  if (me === "signin" || authError) {
    showSignIn({ authError });
    return;
  }
  state.me = me;
  if (me) {
    api.session.csrfToken = me.csrf_token || null;
    if (me.id) adoptOwner(me.id); // null id: AUTH_MODE=none, nobody to tell apart
    renderAccount(ui.account, me, leave);
  }
  ui.app.hidden = false;
  state.view = "loading";
  route();
  window.addEventListener("hashchange", route);
  await showApp();
  if (state.view === "chat" || state.view === "admin" || state.view === "tokens") {
    document.body.dataset.ready = "true"; // tests wait for this
  }
}

start();
