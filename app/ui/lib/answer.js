// One turn of the conversation: the question, then the answer (message, status,
// table, generated code, error, suggestions, CSV download). Everything from the
// server goes in as text.

import { csvFilename, downloadCsv, toCsv } from "./csv.js";
import { h } from "./dom.js";
import { renderTable } from "./table.js";

/** What each non-ok status means for the person reading the chat. */
export const STATUS_HELP = {
  error: {
    title: "The generated code failed",
    text: "The query ran but stopped with an error. Rephrase the question or be more specific.",
  },
  timeout: {
    title: "Time limit reached",
    text: "The run took longer than the time limit, so its sandbox was stopped. " +
      "Narrow the question (filter, aggregate, or ask for fewer rows).",
  },
  oom: {
    title: "Out of memory",
    text: "The run used more memory than its sandbox allows and was stopped. " +
      "Aggregate or filter so it works on less data.",
  },
  output_limit: {
    title: "Result too large",
    text: "The result was bigger than the output cap, so it was cut off. " +
      "Ask for fewer columns or rows.",
  },
  rejected: {
    title: "Refused by the safety check",
    text: "The plan was refused before anything ran: only one read-only query over " +
      "the known datasets is allowed.",
  },
  crashed: {
    title: "The sandbox stopped without an answer",
    text: "The sandbox ended before it could report a result. Try again; if it keeps " +
      "happening, tell whoever runs Corral.",
  },
  unavailable: {
    title: "No sandbox available",
    text: "A sandbox could not be started. The server may be misconfigured or its " +
      "sandbox backend may be down; try again later.",
  },
};

const STATUS_LABEL = {
  ok: "ok",
  error: "error",
  timeout: "timeout",
  oom: "out of memory",
  output_limit: "output limit",
  rejected: "rejected",
  crashed: "crashed",
  unavailable: "unavailable",
};

const LANGUAGE_LABEL = { sql: "SQL", python: "Python" };

export function formatMs(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** The first known dataset named as a whole word in the generated code. */
export function datasetOf(answer, datasetNames) {
  const code = (answer.plan && answer.plan.code) || "";
  for (const name of datasetNames) {
    const pattern = new RegExp(`\\b${name.replace(/[^A-Za-z0-9_]/g, "")}\\b`, "i");
    if (pattern.test(code)) return name;
  }
  return "";
}

export function renderQuestion(question) {
  return h(
    "div",
    { class: "bubble bubble-user" },
    h("span", { class: "who", text: "You" }),
    h("p", { class: "bubble-text", text: question }),
  );
}

/** The code in a text box the person may edit, and a button that runs it again
 * (through the server's guard: POST /api/conversations/{id}/rerun). */
function renderEditor(answer, language, onRerun) {
  const plan = answer.plan;
  const box = h("textarea", {
    class: "code-editor",
    rows: String(Math.min(Math.max(plan.code.split("\n").length + 1, 3), 16)),
    spellcheck: "false",
    "aria-label": `Edit the ${language}`,
  });
  box.value = plan.code;
  const run = () => {
    if (!box.value.trim()) return;
    onRerun({ code: box.value, language: plan.language, message_id: answer.id }, answer.question);
  };
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    }
  });
  return h(
    "div",
    { class: "code-edit" },
    h("p", { class: "small muted", text: `Edit the ${language} and run it again ` +
      "(Ctrl+Enter); the same safety check decides whether it runs." }),
    box,
    h("button", { type: "button", class: "btn btn-secondary btn-small rerun", onclick: run },
      `Run edited ${language}`),
  );
}

/** The generated code, folded: summary, explanation, code (all as text), and an
 * editable copy when the page can run it again. */
function renderCode(answer, onRerun) {
  const plan = answer.plan;
  const language = LANGUAGE_LABEL[plan.language] || plan.language || "code";
  return h(
    "details",
    { class: "code-block" },
    h("summary", {}, `Show the generated ${language}`),
    plan.explanation ? h("p", { class: "small muted", text: plan.explanation }) : null,
    h("pre", {}, h("code", { class: `language-${plan.language}`, text: plan.code })),
    onRerun && answer.id ? renderEditor(answer, language, onRerun) : null,
  );
}

/**
 * @param {object} answer  the Answer object of docs/api.md
 * @param {{onAsk: (q: string, dataset?: string) => void, datasetNames: string[],
 *   onRerun?: (edit: {code: string, language: string, message_id: string},
 *     question: string) => void}} ctx
 */
export function renderAnswer(answer, ctx) {
  const result = answer.result;
  const plan = answer.plan;
  const status = result ? result.status : plan ? "" : "unanswered";
  const dataset = datasetOf(answer, ctx.datasetNames || []);
  const label = `Answer to: ${answer.question}`;

  const meta = h(
    "div",
    { class: "answer-meta" },
    status
      ? h("span", {
        class: `badge badge-${status}`,
        text: status === "unanswered" ? "not answered" : STATUS_LABEL[status] || status,
      })
      : null,
    result && typeof result.elapsed_ms === "number"
      ? h("span", { class: "meta-item", title: "Run time in the sandbox" },
        `ran ${formatMs(result.elapsed_ms)}`)
      : null,
    result && result.status === "ok"
      ? h("span", {
        class: "meta-item",
        text: `${result.row_count} row${result.row_count === 1 ? "" : "s"}`,
      })
      : null,
    dataset ? h("span", { class: "meta-item", text: dataset }) : null,
    plan && plan.planner
      ? h("span", {
        class: "meta-item",
        text: plan.planner === "edited" ? "edited by you" : `${plan.planner} planner`,
      })
      : null,
    answer.created_at
      ? h("time", { class: "meta-item meta-time", datetime: answer.created_at },
        formatTime(answer.created_at))
      : null,
  );

  const parts = [meta, h("p", { class: "answer-message", text: answer.message || "" })];
  // The reading (what the planner understood, written from the plan) sits above the
  // table, with the code one click away: the button opens the code block below.
  const codeBlock = plan && plan.code ? renderCode(answer, ctx.onRerun) : null;
  if (answer.reading) {
    parts.push(
      h(
        "p",
        { class: "answer-reading" },
        h("strong", { text: "Reading: " }),
        h("span", { class: "reading-text", text: answer.reading }),
        codeBlock
          ? h("button", {
            type: "button",
            class: "link-button show-code",
            text: `Show the ${LANGUAGE_LABEL[plan.language] || "code"}`,
            onclick: () => {
              codeBlock.open = true;
              codeBlock.querySelector("summary").focus();
            },
          })
          : null,
      ),
    );
  }

  // A plan read from its code (an LLM's) that leaves words of the question unused.
  if (answer.unread && answer.unread.length) {
    parts.push(h(
      "p",
      { class: "notice notice-unread", role: "note" },
      h("strong", { text: "Check this answer: " }),
      `the plan does not use ${answer.unread.map((w) => `“${w}”`).join(", ")} of your question.`,
    ));
  }

  if (result && result.status !== "ok") parts.push(renderRunError(result));

  if (result && result.status === "ok") {
    if (result.truncated) {
      parts.push(
        h(
          "p",
          { class: "notice notice-truncated" },
          h("strong", { text: `Showing the first ${result.row_count} rows.` }),
          " The full result has more; the server caps answers at this many rows. " +
            "Aggregate or filter to see everything.",
        ),
      );
    }
    if (result.columns && result.columns.length) {
      parts.push(renderTable(result, { label }));
    } else {
      parts.push(h("p", { class: "muted", text: "The query returned no columns." }));
    }
  }

  if (codeBlock) parts.push(codeBlock);

  if (answer.clarify && answer.clarify.choices && answer.clarify.choices.length) {
    parts.push(renderClarify(answer.clarify, ctx));
  }
  if (answer.follow_ups && answer.follow_ups.length) {
    parts.push(renderFollowUps(answer.follow_ups, ctx));
  }

  // A suggestion that is already a choice of the question back is not offered twice.
  // (The planner's corrected question may differ from the choice in case only.)
  const chosen = new Set(((answer.clarify && answer.clarify.choices) || [])
    .map((c) => c.question.toLowerCase()));
  const suggestions = (answer.suggestions || []).filter((s) => !chosen.has(s.toLowerCase()));
  if (suggestions.length) {
    parts.push(
      h(
        "div",
        { class: "chips-block" },
        h("p", { class: "small muted", text: plan ? "Related questions:" : "Questions I can answer:" }),
        h(
          "ul",
          { class: "chips" },
          suggestions.map((s) =>
            h("li", {}, h("button", { type: "button", class: "chip", onclick: () => ctx.onAsk(s) }, s)),
          ),
        ),
      ),
    );
  }

  if (result && result.status === "ok" && result.columns && result.columns.length) {
    parts.push(
      h(
        "div",
        { class: "answer-actions" },
        h(
          "button",
          {
            type: "button",
            class: "btn btn-secondary btn-small",
            onclick: () =>
              downloadCsv(csvFilename(dataset, answer.question), toCsv(result.columns, result.rows)),
          },
          "⬇ Download CSV",
        ),
      ),
    );
  }

  return h(
    "article",
    { class: `bubble bubble-answer status-${status || "none"}`, "aria-label": label },
    h("span", { class: "who", text: "Corral" }),
    parts,
  );
}

/** The planner's question back ("Did you mean species = 'Gentoo'?"), each choice a
 * button that asks the clarified question. */
function renderClarify(clarify, ctx) {
  return h(
    "div",
    { class: "clarify", role: "group", "aria-label": "The planner asks back" },
    h("p", { class: "clarify-question", text: clarify.question }),
    h(
      "ul",
      { class: "clarify-choices" },
      clarify.choices.map((choice) =>
        h("li", {}, h(
          "button",
          { type: "button", class: "btn btn-secondary clarify-choice", onclick: () => ctx.onAsk(choice.question) },
          h("span", { class: "clarify-label", text: choice.label }),
          h("span", { class: "clarify-asks small muted", text: `asks: ${choice.question}` }),
        ))),
    ),
  );
}

/** Questions to ask next, each one the planner answers in this conversation. */
function renderFollowUps(followUps, ctx) {
  return h(
    "div",
    { class: "chips-block follow-ups" },
    h("p", { class: "small muted", text: "Ask next:" }),
    h(
      "ul",
      { class: "chips" },
      followUps.map((q) =>
        h("li", {}, h("button", { type: "button", class: "chip follow-up", onclick: () => ctx.onAsk(q) }, q))),
    ),
  );
}

export function renderRunError(result) {
  const help = STATUS_HELP[result.status] || {
    title: `Run ended with status “${result.status}”`,
    text: "",
  };
  const message = result.error && result.error.message;
  return h(
    "div",
    { class: "error-box" },
    h("p", { class: "error-title" }, h("strong", { text: help.title })),
    help.text ? h("p", { text: help.text }) : null,
    message ? h("p", { class: "error-detail" }, h("span", { class: "muted", text: "Details: " }), message) : null,
  );
}

/** The placeholder shown while a question runs; `setStatus` updates its text. */
export function renderPending() {
  const text = h("span", { text: "Planning and running in a fresh sandbox…" });
  const line = h(
    "p",
    { class: "pending-line" },
    h("span", { class: "spinner", "aria-hidden": "true" }),
    text,
  );
  const el = h(
    "div",
    { class: "bubble bubble-answer pending", "aria-busy": "true" },
    h("span", { class: "who", text: "Corral" }),
    line,
  );
  /** waiting=true marks a wait for capacity (shown as a warning, not progress). */
  const setStatus = (s, waiting = false) => {
    text.textContent = s;
    line.classList.toggle("waiting", waiting);
  };
  return { el, setStatus };
}

/** A request that never produced an Answer (network down, 4xx/5xx, still busy). */
export function renderRequestFailure(error, onRetry) {
  return h(
    "div",
    { class: "bubble bubble-answer status-failed" },
    h("span", { class: "who", text: "Corral" }),
    h(
      "div",
      { class: "error-box" },
      h("p", { class: "error-title" }, h("strong", { text: error.title || "The question was not answered" })),
      h("p", { text: error.message }),
      onRetry
        ? h("button", { type: "button", class: "btn btn-secondary btn-small", onclick: onRetry }, "Try again")
        : null,
    ),
  );
}
