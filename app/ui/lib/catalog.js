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

function schemaTable(name, columns) {
  return h(
    "table",
    { class: "schema-table" },
    h("caption", { class: "sr-only", text: `Columns of ${name}` }),
    h(
      "thead",
      {},
      h("tr", {}, ["Column", "Type", "Meaning"].map((t) => h("th", { scope: "col", text: t }))),
    ),
    h(
      "tbody",
      {},
      (columns || []).map((c) =>
        h(
          "tr",
          {},
          h("td", {}, h("code", { text: c.name })),
          h("td", { class: "col-type-cell", text: c.type }),
          h("td", { text: c.description || "" }),
        ),
      ),
    ),
  );
}

// The tables beyond the main one, and the keys that join them (from the manifest).
function renderJoinedTables(d) {
  const others = (d.tables || []).slice(1);
  if (!others.length) return null;
  const keys = (d.keys || []).map((k) => `${k.from.join(", ")} → ${k.to.join(", ")}`);
  return h(
    "div",
    { class: "joined-tables" },
    others.map((t) =>
      h(
        "details",
        { class: "joined-table" },
        h("summary", {}, `${t.name} · ${count.format(t.row_count)} rows`),
        t.description ? h("p", { class: "small muted", text: t.description }) : null,
        schemaTable(t.name, t.columns),
      ),
    ),
    keys.length ? h("p", { class: "small muted", text: `Joins: ${keys.join("; ")}` }) : null,
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
          text: `${count.format(d.row_count)} rows · ${(d.columns || []).length} columns` +
            ((d.tables || []).length > 1 ? ` · ${d.tables.length} tables` : ""),
        }),
        d.description ? h("span", { class: "dataset-description", text: d.description }) : null,
      ),
      h(
        "div",
        { class: "dataset-body" },
        d.license ? h("p", { class: "small muted", text: `License: ${d.license}` }) : null,
        schemaTable(d.name, d.columns),
        d.sample && d.sample.rows && d.sample.rows.length
          ? h(
            "details",
            { class: "sample" },
            h("summary", {}, "Sample rows"),
            renderTable(d.sample, { sortable: false, label: `Sample rows of ${d.name}` }),
          )
          : null,
        renderJoinedTables(d),
      ),
    ),
  );
}
