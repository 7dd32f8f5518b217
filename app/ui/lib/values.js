// How result values are classified, compared and shown. Columns carry DuckDB type
// names (runner/schema.json); Python results may carry pandas-ish names, so when
// the type says nothing we look at the values themselves.

const NUMERIC_TYPE =
  /^(U?(TINYINT|SMALLINT|INTEGER|INT\d*|BIGINT|HUGEINT)|FLOAT\d*|REAL|DOUBLE|DECIMAL|NUMERIC|INT|UINT)/i;
const INTEGER_TYPE = /^U?(TINYINT|SMALLINT|INTEGER|INT\d*|BIGINT|HUGEINT|UINT\d*)$/i;

/** True when the column should sort and align as numbers. */
export function isNumericColumn(column, rows, index) {
  if (column && column.type && NUMERIC_TYPE.test(column.type)) return true;
  let seen = false;
  for (const row of rows) {
    const v = row[index];
    if (v === null || v === undefined) continue;
    if (typeof v !== "number") return false;
    seen = true;
  }
  return seen;
}

function isIntegerColumn(column, rows, index) {
  if (column && column.type && INTEGER_TYPE.test(column.type)) return true;
  return rows.every((row) => row[index] === null || Number.isInteger(row[index]));
}

/** Sort comparator for one column; nulls always go last, whatever the direction. */
export function comparator(index, numeric, direction) {
  const sign = direction === "descending" ? -1 : 1;
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  return (a, b) => {
    const x = a[index];
    const y = b[index];
    const xNull = x === null || x === undefined;
    const yNull = y === null || y === undefined;
    if (xNull || yNull) return xNull === yNull ? 0 : xNull ? 1 : -1;
    if (numeric) return sign * (Number(x) - Number(y));
    return sign * collator.compare(displayText(x), displayText(y));
  };
}

function displayText(v) {
  if (typeof v === "string") return v;
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/**
 * A formatter per column: floats get at most 2 decimals (4 below 1), large
 * integers get thousands separators, years and codes stay as they are.
 */
export function columnFormatter(column, rows, index) {
  if (!isNumericColumn(column, rows, index)) return (v) => (v === null ? "" : displayText(v));
  const integer = isIntegerColumn(column, rows, index);
  const big = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
  const small = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 4 });
  return (v) => {
    if (v === null || v === undefined) return "";
    const n = Number(v);
    if (!Number.isFinite(n)) return displayText(v);
    if (integer) return Math.abs(n) >= 100000 ? big.format(n) : String(v);
    return Math.abs(n) < 1 ? small.format(n) : big.format(n);
  };
}
