// Building DOM nodes without HTML strings. Server text (LLM output included) is
// untrusted, so it only ever reaches the page as text nodes or attribute values:
// this module never touches innerHTML.

/**
 * h("button", {class: "btn", onclick: fn, "aria-label": "x"}, "text", childNode, [more])
 * - `class`, `text` and `on<event>` are special; `true` sets an empty attribute;
 *   `null`, `undefined` and `false` are skipped.
 * - children: strings (become text nodes), nodes, arrays of either, null/false skipped.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else el.setAttribute(key, value === true ? "" : String(value));
  }
  appendChildren(el, children);
  return el;
}

export function appendChildren(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Remove every child, then append the given ones. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  return appendChildren(el, children);
}

/** Put a short sentence in the polite live region so screen readers hear it. */
export function announce(text) {
  const live = document.getElementById("live");
  if (!live) return;
  // Clearing first makes the same text announce twice in a row.
  live.textContent = "";
  window.setTimeout(() => {
    live.textContent = text;
  }, 50);
}
