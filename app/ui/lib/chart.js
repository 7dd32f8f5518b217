// A chart beside an answer's table when the table's shape fits, chosen by a fixed rule
// from the column types and the row count: one number -> a big-number card, a time
// column and a number -> line, a category and a number -> bar, two numbers -> scatter.
// The table stays; the chart is drawn by Chart.js (vendored in lib/vendor, loaded on
// first use) and can be downloaded as PNG.

import { h } from "./dom.js";

const CHART_SRC = "lib/vendor/chart.umd.min.js";
const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|REAL|DOUBLE|DECIMAL.*|INT\d*)$/i;
const TEMPORAL = /^(DATE|TIMESTAMP.*|TIME)$/i;
// Integer columns named like a calendar part are time, not measures.
const CALENDAR = /^(year|month|day|hour|week|quarter)$/i;
const MAX_BARS = 50;
const MAX_POINTS = 2000;

function kindOf(column) {
  const type = String(column.type || "");
  if (TEMPORAL.test(type) || (NUMERIC.test(type) && CALENDAR.test(column.name))) return "time";
  if (NUMERIC.test(type)) return "number";
  return "text";
}

/** The chart that fits a result, or null: {type, x, y, title} with column indexes. */
export function chooseChart(result) {
  if (!result || result.status !== "ok" || !Array.isArray(result.columns)) return null;
  const rows = result.rows || [];
  const kinds = result.columns.map(kindOf);
  const numbers = kinds.flatMap((k, i) => (k === "number" ? [i] : []));
  const others = kinds.flatMap((k, i) => (k === "number" ? [] : [i]));
  if (rows.length === 1 && kinds.length === 1 && numbers.length === 1) {
    return { type: "number", y: 0 };
  }
  if (rows.length < 2 || numbers.length === 0 || others.length > 1) return null;
  const y = numbers[numbers.length - 1];
  if (others.length === 1 && kinds[others[0]] === "time" && rows.length <= MAX_POINTS) {
    return { type: "line", x: others[0], y };
  }
  if (others.length === 1 && rows.length <= MAX_BARS) return { type: "bar", x: others[0], y };
  if (others.length === 0 && numbers.length === 2 && rows.length <= MAX_POINTS) {
    return { type: "scatter", x: numbers[0], y: numbers[1] };
  }
  return null;
}

let loading = null;

function loadChartJs() {
  if (window.Chart) return Promise.resolve(window.Chart);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = CHART_SRC;
      script.onload = () => resolve(window.Chart);
      script.onerror = () => {
        loading = null;
        reject(new Error("the chart library did not load"));
      };
      document.head.append(script);
    });
  }
  return loading;
}

function chartData(choice, result) {
  const rows = result.rows;
  if (choice.type === "scatter") {
    return { datasets: [{ label: result.columns[choice.y].name,
      data: rows.map((r) => ({ x: r[choice.x], y: r[choice.y] })) }] };
  }
  return {
    labels: rows.map((r) => (r[choice.x] === null ? "(empty)" : String(r[choice.x]))),
    datasets: [{ label: result.columns[choice.y].name, data: rows.map((r) => r[choice.y]) }],
  };
}

function describe(choice, result) {
  const y = result.columns[choice.y].name;
  const x = result.columns[choice.x].name;
  const n = result.rows.length;
  const what = { line: "Line chart", bar: "Bar chart", scatter: "Scatter plot" }[choice.type];
  return choice.type === "scatter" ? `${what} of ${y} against ${x}, ${n} points`
    : `${what} of ${y} by ${x}, ${n} ${choice.type === "bar" ? "bars" : "points"}`;
}

function downloadPng(canvas, name) {
  canvas.toBlob((blob) => {
    if (!blob) return;
    const url = URL.createObjectURL(blob);
    const link = h("a", { href: url, download: `${name}.png`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
  }, "image/png");
}

function numberCard(result) {
  const value = result.rows[0][0];
  const shown = typeof value === "number" ? value.toLocaleString("en-US") : String(value);
  const big = h("div", { class: "big-number-value", text: shown });
  big.style.fontSize = "2.5rem";
  big.style.fontWeight = "600";
  return h("figure", { class: "answer-chart big-number", "data-chart": "number" },
    big, h("figcaption", { class: "muted", text: result.columns[0].name }));
}

/** The chart figure for an answer's result, or null when its shape does not fit. */
export function renderChart(result) {
  const choice = chooseChart(result);
  if (!choice) return null;
  if (choice.type === "number") return numberCard(result);
  const label = describe(choice, result);
  const canvas = h("canvas", { role: "img", "aria-label": label, tabindex: "0" });
  const status = h("p", { class: "muted chart-status", text: "Drawing the chart…" });
  const save = h("button", { type: "button", class: "chart-download", text: "Download chart (PNG)" });
  const box = h("div", { class: "chart-canvas" }, canvas);
  box.style.position = "relative"; // Chart.js sizes the canvas to this box
  box.style.height = "260px";
  box.style.maxWidth = "720px";
  const figure = h("figure", { class: "answer-chart", "data-chart": choice.type },
    box, h("figcaption", { class: "muted", text: label }), status, save);
  save.addEventListener("click", () => downloadPng(canvas, result.columns[choice.y].name));
  loadChartJs().then((Chart) => {
    const chart = new Chart(canvas, { type: choice.type, data: chartData(choice, result),
      options: { animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { display: false } } } });
    figure.chart = chart; // for the tests: the data the chart draws
    status.remove();
  }).catch((err) => { status.textContent = `No chart: ${err.message}.`; });
  return figure;
}

/** The answer element with its chart put before the table (when one fits). */
export function withChart(answerEl, answer) {
  const chart = answer && answer.result ? renderChart(answer.result) : null;
  const table = chart ? answerEl.querySelector(".table-scroll") : null;
  if (table) table.before(chart);
  return answerEl;
}
