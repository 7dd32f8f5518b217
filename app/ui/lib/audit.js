// The admin page's audit log: every run with who asked, when, the question, the
// generated code, status, duration and rows; filtered by user, status and time,
// newest first, a page at a time (GET /api/admin/audit, X-Total-Count).

import { api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { errorLine, field, when } from "./forms.js";

const PAGE_SIZE = 25;
const STATUSES = ["", "ok", "error", "timeout", "oom", "output_limit", "crashed",
  "unavailable", "rejected", "unanswered"];

/** datetime-local's "2026-11-30T10:00" (local time) as an ISO instant, or "". */
function instant(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

function auditRow(run) {
  const status = run.status || "";
  return h(
    "tr",
    { "data-run": run.run_id },
    h("td", { class: "nowrap", text: when(run.created_at) }),
    h("td", { class: "audit-user", text: run.username || "—" }),
    h("td", { class: "audit-question", text: run.question || "" }),
    h("td", { class: "audit-code-cell" }, run.code
      ? h("details", { class: "code-block audit-code" },
        h("summary", { text: run.language || "code" }),
        h("pre", {}, h("code", { text: run.code })))
      : h("span", { class: "muted", text: "—" })),
    h("td", {}, h("span", { class: `badge badge-${status}`, text: status || "—" }),
      run.error_type ? h("div", { class: "small muted", text: run.error_type }) : null),
    h("td", { class: "num", text: run.duration_ms == null ? "—" : `${run.duration_ms} ms` }),
    h("td", { class: "num", text: run.row_count == null ? "—" : String(run.row_count) }),
  );
}

function filterForm(onApply) {
  const user = field("User", { name: "user", maxlength: 64, autocomplete: "off" });
  const status = field("Status", { name: "status" }, STATUSES.map((s) => [s, s || "any"]));
  const since = field("From", { name: "since", type: "datetime-local" });
  const until = field("Until", { name: "until", type: "datetime-local" });
  const form = h("form", { class: "inline-form audit-filters", role: "search" },
    user.el, status.el, since.el, until.el,
    h("button", { type: "submit", class: "btn btn-primary" }, "Filter"),
    h("button", { type: "reset", class: "btn btn-secondary" }, "Clear"));
  const values = () => ({
    user: user.control.value.trim(),
    status: status.control.value,
    since: instant(since.control.value),
    until: instant(until.control.value),
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onApply(values());
  });
  form.addEventListener("reset", () => window.setTimeout(() => onApply(values()), 0));
  return form;
}

/** The audit section; loads its first page itself. */
export function renderAudit() {
  const view = { filters: {}, offset: 0, total: 0 };
  const body = h("tbody");
  const error = errorLine();
  const range = h("span", { class: "small muted", role: "status" });
  const prev = h("button", { type: "button", class: "btn btn-secondary btn-small" }, "Previous");
  const next = h("button", { type: "button", class: "btn btn-secondary btn-small" }, "Next");
  const empty = h("p", { class: "muted small", text: "No runs match.", hidden: true });

  async function load() {
    error.set("");
    try {
      const { items, total } = await api.audit({ ...view.filters, limit: PAGE_SIZE, offset: view.offset });
      view.total = total;
      replaceChildren(body, items.map(auditRow));
      empty.hidden = items.length > 0;
      range.textContent = items.length
        ? `${view.offset + 1}–${view.offset + items.length} of ${total}` : `0 of ${total}`;
      prev.disabled = view.offset === 0;
      next.disabled = view.offset + items.length >= total;
    } catch (err) {
      error.set(`Audit log unavailable: ${err.message}`);
    }
  }

  prev.addEventListener("click", () => {
    view.offset = Math.max(0, view.offset - PAGE_SIZE);
    load();
  });
  next.addEventListener("click", () => {
    view.offset += PAGE_SIZE;
    load();
  });

  const section = h(
    "section",
    { class: "panel audit-panel", "aria-label": "Audit log" },
    h("h2", { class: "panel-heading", text: "Audit log" }),
    filterForm((filters) => {
      view.filters = filters;
      view.offset = 0;
      load();
    }),
    error.el,
    h("div", { class: "table-scroll" },
      h("table", { class: "data-table admin-table audit-table" },
        h("thead", {}, h("tr", {}, ["When", "User", "Question", "Code", "Status", "Duration",
          "Rows"].map((t) => h("th", { scope: "col", text: t })))),
        body)),
    empty,
    h("div", { class: "pager" }, prev, range, next),
  );
  load();
  return section;
}
