// API tokens: create (the secret is shown once, with a copy button), list, revoke.
// "My tokens" for everyone; the admin page's copy lists every user's tokens and may
// create one for another user.

import { api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { errorLine, field, submitting, when } from "./forms.js";

const MAX_DAYS = 365; // API_TOKEN_MAX_DAYS' default; the server has the last word

function tokenState(t) {
  if (t.revoked_at) return "revoked";
  if (t.expires_at && new Date(t.expires_at) <= new Date()) return "expired";
  return "active";
}

/** The new token, once: selectable text and a copy button. */
function shownOnce(created) {
  const code = h("code", { class: "token-secret", text: created.token });
  const status = h("span", { class: "small muted", role: "status" });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.token);
      status.textContent = "Copied.";
    } catch {
      window.getSelection().selectAllChildren(code); // no clipboard: select it for Ctrl+C
      status.textContent = "Selected; press Ctrl+C to copy.";
    }
  };
  return h(
    "div",
    { class: "token-once", role: "region", "aria-label": "New token" },
    h("p", {}, h("strong", { text: `Token “${created.name}” created. ` }),
      "Copy it now: it is shown only this once."),
    h("div", { class: "token-once-row" }, code,
      h("button", { type: "button", class: "btn btn-secondary btn-small", onclick: copy }, "Copy"),
      status),
  );
}

function createForm({ isAdmin, forOthers, onCreated }) {
  const name = field("Name", { name: "name", required: true, maxlength: 100, placeholder: "e.g. nightly report" });
  const scopes = [["query", "query (ask questions)"]];
  if (isAdmin) scopes.push(["admin", "admin (also manage users and tokens)"]);
  const scope = field("Scope", { name: "scope" }, scopes);
  const days = field("Expires in (days)", { name: "expires_in_days", type: "number", min: 1, max: MAX_DAYS, value: 90, required: true });
  const user = forOthers ? field("For user (empty: you)", { name: "username", maxlength: 64 }) : null;
  const error = errorLine();
  const form = h("form", { class: "inline-form token-form" },
    name.el, scope.el, days.el, user ? user.el : null,
    h("button", { type: "submit", class: "btn btn-primary" }, "Create token"), error.el);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      name: name.control.value.trim(),
      scope: scope.control.value,
      expires_in_days: Number.parseInt(days.control.value, 10),
    };
    if (user && user.control.value.trim()) body.username = user.control.value.trim();
    const created = await submitting(form, error, () => api.createToken(body));
    if (created) {
      form.reset();
      onCreated(created);
    }
  });
  return form;
}

function tokenRow(t, { all, onRevoke }) {
  const stateName = tokenState(t);
  return h(
    "tr",
    { "data-id": t.id },
    h("td", { text: t.name }),
    all ? h("td", { text: t.username || t.user_id || "" }) : null,
    h("td", {}, h("code", { text: `crl_${t.prefix || ""}…` })),
    h("td", { text: t.scope }),
    h("td", { text: when(t.created_at) }),
    h("td", { text: when(t.expires_at) }),
    h("td", { text: when(t.last_used_at) }),
    h("td", {}, h("span", { class: `badge badge-token-${stateName}`, text: stateName })),
    h("td", {}, stateName === "active"
      ? h("button", { type: "button", class: "btn btn-secondary btn-small", onclick: () => onRevoke(t) }, "Revoke")
      : null),
  );
}

/**
 * A token section that loads itself.
 * @param {{all: boolean, isAdmin: boolean, heading: string}} options
 */
export function renderTokens({ all, isAdmin, heading }) {
  const once = h("div", { class: "token-once-slot" });
  const error = errorLine();
  const body = h("tbody");
  const empty = h("p", { class: "muted small", text: "No tokens yet.", hidden: true });
  const headers = ["Name", all ? "User" : null, "Token", "Scope", "Created", "Expires",
    "Last used", "State", ""].filter((x) => x !== null);

  async function load() {
    try {
      const list = await api.tokens(all);
      error.set("");
      replaceChildren(body, (list || []).map((t) => tokenRow(t, { all, onRevoke: revoke })));
      empty.hidden = (list || []).length > 0;
    } catch (err) {
      error.set(`Tokens unavailable: ${err.message}`);
    }
  }

  async function revoke(t) {
    if (!window.confirm(`Revoke token “${t.name}”? Programs using it stop working at once.`)) return;
    try {
      await api.revokeToken(t.id);
    } catch (err) {
      error.set(err.message);
      return;
    }
    await load();
  }

  const section = h(
    "section",
    { class: "panel tokens-panel", "aria-label": heading },
    h("h2", { class: "panel-heading", text: heading }),
    h("p", { class: "muted small" }, "Programs send a token as ",
      h("code", { text: "Authorization: Bearer crl_…" }),
      ". A query token can ask questions; an admin token can also manage users and tokens."),
    createForm({
      isAdmin,
      forOthers: all,
      onCreated: (created) => {
        replaceChildren(once, shownOnce(created));
        load();
      },
    }),
    once,
    error.el,
    h("div", { class: "table-scroll" },
      h("table", { class: "data-table admin-table tokens-table" },
        h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col", text: t })))),
        body)),
    empty,
  );
  load();
  return section;
}
