// The admin page's users section: the list, adding a local user, disabling or
// enabling one, and changing a role.

import { api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { errorLine, field, submitting, when } from "./forms.js";

const ROLES = [["analyst", "analyst"], ["admin", "admin"]];

function roleSelect(user, onChange) {
  const select = h("select", { "aria-label": `Role of ${user.username}`, class: "role-select" },
    ROLES.map(([value, text]) => h("option", { value, selected: value === user.role }, text)));
  select.addEventListener("change", () => onChange(user, { role: select.value }));
  return select;
}

function userRow(user, { me, onChange }) {
  const self = user.id === me.id;
  return h(
    "tr",
    { "data-username": user.username },
    h("td", { text: user.username }),
    h("td", { text: user.display_name || "" }),
    h("td", {}, roleSelect(user, onChange)),
    h("td", { text: user.source || "" }),
    h("td", {}, h("span", {
      class: `badge ${user.disabled ? "badge-error" : "badge-ok"}`,
      text: user.disabled ? "disabled" : "active",
    })),
    h("td", { text: when(user.last_login_at) }),
    h("td", {}, self ? h("span", { class: "small muted", text: "you" }) : h(
      "button",
      { type: "button", class: "btn btn-secondary btn-small",
        onclick: () => onChange(user, { disabled: !user.disabled }) },
      user.disabled ? "Enable" : "Disable",
    )),
  );
}

function addForm(onAdded) {
  const username = field("Username", { name: "username", required: true, maxlength: 64, autocomplete: "off" });
  const role = field("Role", { name: "role" }, ROLES);
  const password = field("Password", { name: "password", type: "password", required: true, minlength: 12, autocomplete: "new-password" });
  const error = errorLine();
  const form = h("form", { class: "inline-form user-form" },
    username.el, role.el, password.el,
    h("button", { type: "submit", class: "btn btn-primary" }, "Add user"), error.el);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const created = await submitting(form, error, () => api.createUser({
      username: username.control.value.trim(),
      role: role.control.value,
      password: password.control.value,
    }));
    if (created) {
      form.reset();
      onAdded(created);
    }
  });
  return form;
}

/** The users section; loads itself. `me` is the signed-in admin (never disabled here). */
export function renderUsers(me) {
  const body = h("tbody");
  const error = errorLine();
  const status = h("p", { class: "small muted", role: "status" });

  async function load() {
    try {
      const list = await api.users();
      const users = Array.isArray(list) ? list : (list && list.items) || [];
      replaceChildren(body, users.map((u) => userRow(u, { me, onChange: change })));
    } catch (err) {
      error.set(`Users unavailable: ${err.message}`);
    }
  }

  async function change(user, changes) {
    error.set("");
    try {
      await api.updateUser(user.id, changes);
      status.textContent = `Updated ${user.username}.`;
    } catch (err) {
      error.set(`${user.username}: ${err.message}`);
    }
    await load(); // the list shows what the server kept, also after a refusal
  }

  const section = h(
    "section",
    { class: "panel users-panel", "aria-label": "Users" },
    h("h2", { class: "panel-heading", text: "Users" }),
    addForm((created) => {
      status.textContent = `Added ${created.username || "the user"}.`;
      load();
    }),
    error.el,
    status,
    h("div", { class: "table-scroll" },
      h("table", { class: "data-table admin-table users-table" },
        h("thead", {}, h("tr", {}, ["Username", "Name", "Role", "Source", "State",
          "Last sign-in", ""].map((t) => h("th", { scope: "col", text: t })))),
        body)),
  );
  load();
  return section;
}
