// The sign-in page (local form and/or the identity provider's button, as
// GET /api/auth/config says) and the one-time first-admin setup page.

import { ApiError, api } from "./api.js";
import { h } from "./dom.js";
import { errorLine, field, submitting } from "./forms.js";

// `?auth_error=<code>` after a failed OIDC sign-in (app/auth/oidc.py's codes; the
// reason itself stays in the server log).
const AUTH_ERRORS = {
  oidc_denied: "The identity provider refused the sign-in.",
  oidc_state: "The sign-in took too long or was started in another tab. Try again.",
  oidc_token: "The identity provider did not accept the sign-in. Try again.",
  oidc_id_token: "The identity provider's answer could not be verified. Ask your administrator.",
  oidc_unavailable: "The identity provider could not be reached. Try again later.",
  oidc_refresh: "Your session with the identity provider ended. Sign in again.",
  oidc_forbidden: "Your account is not in a group that may use Corral. Ask your administrator.",
  oidc_disabled: "Your account is disabled here. Ask your administrator.",
  oidc_account: "No Corral account could be made for this identity. Ask your administrator.",
};

/** A readable sentence for an auth_error code; the code itself is shown only as text. */
export function authErrorMessage(code) {
  const clean = String(code || "").slice(0, 64);
  if (Object.hasOwn(AUTH_ERRORS, clean)) return AUTH_ERRORS[clean]; // not "constructor"
  return `Signing in with the identity provider failed (${clean || "unknown error"}). Try again.`;
}

function card(title, intro, ...body) {
  return h(
    "div",
    { class: "auth-card" },
    h("div", { class: "brand auth-brand" },
      h("img", { src: "favicon.svg", alt: "", width: 32, height: 32 }),
      h("div", {}, h("div", { class: "brand-name", text: "Corral" }),
        h("div", { class: "brand-tag", text: "ask your data" }))),
    h("h1", { class: "auth-title", text: title }),
    intro ? h("p", { class: "muted", text: intro }) : null,
    ...body,
  );
}

/** Count down a lockout on the submit button, so the wait is visible. */
function lockedOut(form, error, err) {
  const button = form.querySelector("button[type=submit]");
  let left = Math.max(1, Math.min(err.retryAfter ?? 60, 3600));
  // The server's sentence names the limit; the wait is counted down here instead.
  const reason = err.message.replace(/[;.]?\s*try again in \d+ s\.?$/i, "").replace(/\.$/, "");
  const tick = () => {
    error.set(`${reason}. Try again in ${left} s.`);
    button.disabled = true;
  };
  tick();
  const timer = window.setInterval(() => {
    left -= 1;
    if (left > 0) return tick();
    window.clearInterval(timer);
    button.disabled = false;
    error.set(`${reason}. You can try again now.`);
  }, 1000);
}

function localForm(onSignedIn) {
  const username = field("Username", { name: "username", autocomplete: "username", required: true, maxlength: 64 });
  const password = field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = errorLine();
  const form = h("form", { id: "signin-form", class: "auth-form" },
    username.el, password.el, error.el,
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let locked = null;
    const me = await submitting(form, error, async () => {
      try {
        return await api.login(username.control.value.trim(), password.control.value);
      } catch (err) {
        if (err instanceof ApiError && err.status === 429) locked = err;
        throw err;
      }
    });
    if (locked) lockedOut(form, error, locked);
    else if (me) onSignedIn(me);
    else password.control.select();
  });
  return form;
}

/**
 * @param {{modes: string[], oidc_login_url: string|null}} config
 * @param {{authError?: string|null, notice?: string|null, onSignedIn: (me) => void}} options
 */
export function renderSignIn(config, { authError, notice, onSignedIn }) {
  const modes = config.modes || [];
  const oidc = modes.includes("oidc") && config.oidc_login_url
    ? h("a", { id: "oidc-login", class: "btn btn-primary btn-block", href: config.oidc_login_url },
      "Sign in with your organisation")
    : null;
  const local = modes.includes("local") ? localForm(onSignedIn) : null;
  const none = !oidc && !local
    ? h("p", { class: "muted", text: "This server offers no way to sign in from the browser. Ask your administrator." })
    : null;
  return card(
    "Sign in",
    null,
    notice ? h("p", { class: "auth-notice", role: "status", text: notice }) : null,
    authError ? h("p", { class: "form-error", role: "alert", text: authErrorMessage(authError) }) : null,
    oidc,
    oidc && local ? h("p", { class: "auth-or muted", text: "or with a Corral account" }) : null,
    local,
    none,
  );
}

/** First-admin setup: the one-time code from `corral setup-code`, a name, a password twice. */
export function renderSetup({ onSignedIn }) {
  const code = field("Setup code", { name: "code", autocomplete: "one-time-code", required: true, spellcheck: "false" });
  const username = field("Admin username", { name: "username", autocomplete: "username", required: true, maxlength: 64 });
  const password = field("Password", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 12 });
  const again = field("Password again", { name: "password2", type: "password", autocomplete: "new-password", required: true });
  const error = errorLine();
  const form = h("form", { id: "setup-form", class: "auth-form" },
    code.el, username.el, password.el, again.el, error.el,
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Create admin and sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (password.control.value !== again.control.value) {
      error.set("The two passwords differ; type the same password twice.");
      again.control.select();
      return;
    }
    const me = await submitting(form, error, () =>
      api.setup(code.control.value.trim(), username.control.value.trim(), password.control.value));
    if (me) onSignedIn(me);
  });
  return card(
    "Create the first admin",
    "Nobody can sign in yet. Enter the one-time setup code printed at install " +
      "(or by `corral setup-code` on the server), then choose the admin's name and password.",
    form,
  );
}
