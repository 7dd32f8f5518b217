// A result table: sortable headers (buttons, so Enter/Space work), numeric vs
// text ordering, and a display cap so a 10 000-row answer does not freeze the page.

import { h, replaceChildren } from "./dom.js";
import { columnFormatter, comparator, isNumericColumn } from "./values.js";

export const DISPLAY_LIMIT = 100;

/**
 * @param {{columns: {name: string, type: string}[], rows: any[][]}} data
 * @param {{sortable?: boolean, label?: string, displayLimit?: number}} options
 */
export function renderTable(data, options = {}) {
  const { sortable = true, label = "Result", displayLimit = DISPLAY_LIMIT } = options;
  const columns = data.columns || [];
  const original = data.rows || [];
  const numeric = columns.map((c, i) => isNumericColumn(c, original, i));
  const format = columns.map((c, i) => columnFormatter(c, original, i));
  const state = { index: -1, direction: "none", showAll: original.length <= displayLimit };

  const tbody = h("tbody");
  const headers = columns.map((column, i) => {
    const content = [
      h("span", { class: "col-name", text: column.name }),
      // The type is shown, but the button's accessible name stays the column name.
      column.type ? h("span", { class: "col-type", "aria-hidden": "true", text: column.type }) : null,
    ];
    if (!sortable) return h("th", { scope: "col", class: numeric[i] ? "num" : null }, content);
    const button = h(
      "button",
      {
        type: "button",
        class: "sort-button",
        title: `Sort by ${column.name}${column.type ? ` (${column.type})` : ""}`,
        onclick: () => sortBy(i),
      },
      content,
      h("span", { class: "sort-icon", "aria-hidden": "true" }),
    );
    return h("th", { scope: "col", "aria-sort": "none", class: numeric[i] ? "num" : null }, button);
  });

  const more = h("div", { class: "table-more" });
  const table = h(
    "table",
    { class: "data-table" },
    h("caption", { class: "sr-only", text: label }),
    h("thead", {}, h("tr", {}, headers)),
    tbody,
  );
  const wrap = h(
    "div",
    { class: "table-scroll", tabindex: "0", role: "region", "aria-label": label },
    table,
  );

  function sortBy(i) {
    state.direction =
      state.index === i && state.direction === "ascending" ? "descending" : "ascending";
    state.index = i;
    headers.forEach((th, j) =>
      th.setAttribute("aria-sort", j === i ? state.direction : "none"),
    );
    drawBody();
  }

  function drawBody() {
    let rows = original;
    if (state.index >= 0) {
      rows = [...original].sort(comparator(state.index, numeric[state.index], state.direction));
    }
    const shown = state.showAll ? rows : rows.slice(0, displayLimit);
    replaceChildren(
      tbody,
      shown.map((row) =>
        h(
          "tr",
          {},
          columns.map((_, i) => {
            const v = row[i];
            const isNull = v === null || v === undefined;
            return h(
              "td",
              { class: [numeric[i] ? "num" : "", isNull ? "null" : ""].join(" ").trim() || null },
              isNull ? "null" : format[i](v),
            );
          }),
        ),
      ),
    );
    if (state.showAll || original.length <= displayLimit) {
      replaceChildren(more);
      more.hidden = true;
    } else {
      more.hidden = false;
      replaceChildren(
        more,
        h("span", { text: `Displaying ${displayLimit} of ${original.length} rows. ` }),
        h(
          "button",
          {
            type: "button",
            class: "btn btn-link",
            onclick: () => {
              state.showAll = true;
              drawBody();
            },
          },
          `Show all ${original.length} rows`,
        ),
      );
    }
  }

  drawBody();
  return h("div", { class: "table-block" }, wrap, more);
}
