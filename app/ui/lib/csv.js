// Client-side CSV export (RFC 4180): the rows the browser already has, no new run.

/** Quote a field when it holds a comma, quote, CR or LF; double inner quotes. */
export function csvField(value) {
  if (value === null || value === undefined) return "";
  let text = typeof value === "object" ? JSON.stringify(value) : String(value);
  // A text cell that starts like a formula would run as one in a spreadsheet
  // (CSV injection); a leading apostrophe keeps it text. Numbers are left alone.
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text) && !isNumberLike(text)) {
    text = `'${text}`;
  }
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function isNumberLike(text) {
  return text.trim() !== "" && Number.isFinite(Number(text));
}

/** columns: [{name}], rows: [[...]] → CSV text with CRLF line ends. */
export function toCsv(columns, rows) {
  const lines = [columns.map((c) => csvField(c.name)).join(",")];
  for (const row of rows) lines.push(row.map(csvField).join(","));
  return lines.join("\r\n") + "\r\n";
}

/** "penguins", "Average body mass by species?" → "penguins-average-body-mass-by-species.csv" */
export function csvFilename(dataset, question) {
  const slug = String(question || "result")
    .toLowerCase()
    .normalize("NFKD")
    .replace(/\p{M}/gu, "") // "Ü" -> "U" + a combining mark; drop the mark
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60)
    .replace(/-+$/g, "");
  return `${dataset ? `${dataset}-` : ""}${slug || "result"}.csv`;
}

/** Save text as a file; the byte-order mark lets spreadsheet apps read UTF-8. */
export function downloadCsv(filename, csvText) {
  const blob = new Blob(["\ufeff", csvText], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10000);
}
