// Small form pieces shared by the sign-in, setup, token and admin pages: labelled
// fields, an error line that screen readers hear, and dates as people read them.

import { h } from "./dom.js";

let fieldCount = 0;

/** A label above its control. props go to the <input> (or to the <select> with options). */
export function field(label, props = {}, options = null) {
  const id = props.id || `field-${++fieldCount}`;
  const control = options
    ? h("select", { ...props, id }, options.map(([value, text]) => h("option", { value }, text)))
    : h("input", { type: "text", ...props, id });
  const el = h("div", { class: "field" }, h("label", { for: id, text: label }), control);
  return { el, control };
}

/** A paragraph for one error sentence; empty and hidden until set. */
export function errorLine(extraClass = "") {
  const el = h("p", { class: `form-error ${extraClass}`.trim(), role: "alert", hidden: true });
  return {
    el,
    set(message) {
      el.textContent = message || "";
      el.hidden = !message;
    },
  };
}

/** "2026-11-30 10:04" in the reader's time zone, or "—" for no date. */
export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Run `action` with the form's submit button disabled; errors go to `error`. */
export async function submitting(form, error, action) {
  const buttons = form.querySelectorAll("button[type=submit]");
  for (const b of buttons) b.disabled = true;
  error.set("");
  try {
    return await action();
  } catch (err) {
    error.set(err.message);
    return undefined;
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}
