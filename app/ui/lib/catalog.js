// The empty screen: the canonical questions as buttons, and the datasets with
// their columns (collapsible), from /api/suggestions and /api/datasets.

import { h } from "./dom.js";
import { renderTable } from "./table.js";

const count = new Intl.NumberFormat("en-US");

/** @param {{dataset: string, question: string}[]} suggestions */
export function renderSuggestions(suggestions, onAsk) {
  return suggestions.map((s) =>
    h(
      "li",
      {},
      h(
        "button",
        { type: "button", class: "suggestion", onclick: () => onAsk(s.question, s.dataset) },
        h("span", { class: "suggestion-dataset", text: s.dataset }),
        h("span", { class: "suggestion-question", text: s.question }),
      ),
    ),
  );
}

export function renderDatasets(datasets) {
  return datasets.map((d) =>
    h(
      "details",
      { class: "dataset" },
      h(
        "summary",
        {},
        h("span", { class: "dataset-name", text: d.name }),
        h("span", {
          class: "dataset-stats",
          text: `${count.format(d.row_count)} rows · ${(d.columns || []).length} columns`,
        }),
        d.description ? h("span", { class: "dataset-description", text: d.description }) : null,
      ),
      h(
        "div",
        { class: "dataset-body" },
        d.license ? h("p", { class: "small muted", text: `License: ${d.license}` }) : null,
        h(
          "table",
          { class: "schema-table" },
          h("caption", { class: "sr-only", text: `Columns of ${d.name}` }),
          h(
            "thead",
            {},
            h("tr", {}, ["Column", "Type", "Meaning"].map((t) => h("th", { scope: "col", text: t }))),
          ),
          h(
            "tbody",
            {},
            (d.columns || []).map((c) =>
              h(
                "tr",
                {},
                h("td", {}, h("code", { text: c.name })),
                h("td", { class: "col-type-cell", text: c.type }),
                h("td", { text: c.description || "" }),
              ),
            ),
          ),
        ),
        d.sample && d.sample.rows && d.sample.rows.length
          ? h(
            "details",
            { class: "sample" },
            h("summary", {}, "Sample rows"),
            renderTable(d.sample, { sortable: false, label: `Sample rows of ${d.name}` }),
          )
          : null,
      ),
    ),
  );
}
