// The header's account area: who is signed in (name and role), links to the chat,
// "My tokens" and (admins only) the admin page, and sign-out.

import { api } from "./api.js";
import { h, replaceChildren } from "./dom.js";

/** Sign out; then follow the server's redirect (an identity provider's end-session). */
export async function signOut(onFailed) {
  let answer;
  try {
    answer = await api.logout();
  } catch (err) {
    if (err.status !== 401) {
      onFailed(err);
      return;
    }
    answer = null; // the session had already ended: signed out all the same
  }
  const redirect = answer && typeof answer.redirect === "string" ? answer.redirect : null;
  // Only http(s) URLs: a javascript: URL from a confused server must not run here.
  if (redirect && /^https?:\/\//i.test(redirect)) window.location.assign(redirect);
  else window.location.assign("/");
}

/**
 * @param {HTMLElement} el the header's nav element
 * @param {{display_name?: string, username: string, role: string}} me
 * @param {() => void} onSignOut forgets local state, then calls signOut()
 */
export function renderAccount(el, me, onSignOut) {
  const name = me.display_name || me.username;
  const link = (href, text, id) => h("a", { href, id, class: "nav-link" }, text);
  replaceChildren(
    el,
    link("#", "Chat", "nav-chat"),
    link("#tokens", "My tokens", "nav-tokens"),
    me.role === "admin" ? link("#admin", "Admin", "nav-admin") : null,
    h("span", { class: "account" },
      h("span", { id: "account-name", class: "account-name", title: me.username, text: name }),
      h("span", { id: "account-role", class: `badge badge-role-${me.role}`, text: me.role })),
    h("button", {
      id: "sign-out",
      type: "button",
      class: "btn btn-secondary btn-small",
      onclick: onSignOut,
    }, "Sign out"),
  );
  el.hidden = false;
}

/** Mark the link of the page on screen with aria-current. */
export function markPage(el, page) {
  const current = { chat: "nav-chat", tokens: "nav-tokens", admin: "nav-admin" }[page];
  for (const a of el.querySelectorAll(".nav-link")) {
    if (a.id === current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}
