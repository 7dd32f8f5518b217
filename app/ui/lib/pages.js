// The two pages beside the chat: "My tokens" (everyone) and the admin page (audit
// log, users, every user's tokens). The server refuses /api/admin/* to non-admins;
// the UI does not even offer the page to them.

import { renderAudit } from "./audit.js";
import { h } from "./dom.js";
import { renderTokens } from "./tokens.js";
import { renderUsers } from "./users.js";

export function renderMyTokens(me) {
  return h(
    "div",
    { class: "page", id: "tokens-page" },
    renderTokens({ all: false, isAdmin: me.role === "admin", heading: "My tokens" }),
  );
}

export function renderAdmin(me) {
  if (me.role !== "admin") {
    return h("div", { class: "page", id: "admin-denied" },
      h("p", { class: "form-error", role: "alert", text: "The admin page needs the admin role." }));
  }
  return h(
    "div",
    { class: "page", id: "admin-page" },
    renderAudit(),
    renderUsers(me),
    renderTokens({ all: true, isAdmin: true, heading: "All tokens" }),
  );
}
