/**
 * Markdown tables and mean ± std aggregation over runs (e.g. several seeds per configuration).
 */
import { ArgumentError } from "../errors.js";
import { fail, nonNegativeInt } from "../util/validate.js";

export type Cell = string | number | boolean | null | undefined;

/** Mean and sample standard deviation (n − 1) of the present values of one metric. */
export interface MeanStd {
  mean: number;
  /** Sample standard deviation; 0 when n = 1 (shown as "—" by the formatters), NaN when n = 0. */
  std: number;
  /** Number of values that were present (null/undefined are skipped; NaN counts and propagates). */
  n: number;
}

export interface AggregateRow {
  /** The values of the group-by keys for this group. */
  group: Record<string, Cell>;
  /** Number of input rows in the group. */
  count: number;
  /** One entry per metric key. */
  metrics: Record<string, MeanStd>;
}

/** Format a number for a table: integers as is, others with `digits` significant digits. */
export function formatNumber(v: number, digits = 4): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e9)) return v.toExponential(Math.max(0, digits - 1));
  return String(Number(v.toPrecision(digits)));
}

/** Cell to display string (numbers via {@link formatNumber}, missing as empty). */
export function formatCell(v: Cell, digits = 4): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return formatNumber(v, digits);
  return String(v);
}

/** Mean and sample std of the given values (null/undefined skipped). */
export function meanStd(values: readonly (number | null | undefined)[]): MeanStd {
  const xs = values.filter((v): v is number => typeof v === "number");
  const n = xs.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, std: 0, n };
  const ss = xs.reduce((a, b) => a + (b - mean) * (b - mean), 0);
  return { mean, std: Math.sqrt(ss / (n - 1)), n };
}

/**
 * "mean ± std" with `digits` decimals. A single value has no sample std and prints as
 * "mean ± —"; no values print as "—".
 */
export function formatMeanStd(values: readonly (number | null | undefined)[] | MeanStd, digits = 3): string {
  nonNegativeInt(digits, "digits");
  const s = Array.isArray(values) ? meanStd(values) : (values as MeanStd);
  if (s.n === 0) return "—";
  const m = fixed(s.mean, digits);
  return s.n === 1 ? `${m} ± —` : `${m} ± ${fixed(s.std, digits)}`;
}

function fixed(v: number, digits: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  const s = v.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

function groupKey(values: Cell[]): string {
  return JSON.stringify(values.map((v) => (v === undefined ? null : v)));
}

/**
 * Group `rows` by the values of `groupBy` keys (groups keep first-appearance order) and compute
 * mean ± sample std for each of `metrics`.
 */
export function aggregate(
  rows: readonly Record<string, unknown>[],
  groupBy: readonly string[],
  metrics: readonly string[],
): AggregateRow[] {
  if (!Array.isArray(rows)) fail("array", "rows", rows);
  if (!Array.isArray(groupBy)) fail("array", "groupBy", groupBy);
  if (!Array.isArray(metrics)) fail("array", "metrics", metrics);
  const groups = new Map<string, { group: Record<string, Cell>; rows: Record<string, unknown>[] }>();
  rows.forEach((row, i) => {
    if (typeof row !== "object" || row === null) fail("object", `rows[${i}]`, row);
    const vals = groupBy.map((k) => {
      const v = row[k];
      if (v !== null && v !== undefined && !["string", "number", "boolean"].includes(typeof v)) {
        fail("string, number, boolean, null or undefined", `rows[${i}].${k}`, v);
      }
      return v as Cell;
    });
    const key = groupKey(vals);
    let g = groups.get(key);
    if (!g) {
      const group: Record<string, Cell> = {};
      groupBy.forEach((k, j) => (group[k] = vals[j]));
      g = { group, rows: [] };
      groups.set(key, g);
    }
    g.rows.push(row);
  });
  return [...groups.values()].map(({ group, rows: rs }) => {
    const out: Record<string, MeanStd> = {};
    for (const m of metrics) {
      const vals = rs.map((r, i) => {
        const v = r[m];
        if (v !== null && v !== undefined && typeof v !== "number")
          fail("number, null or undefined", `${m} of row ${i} in group ${groupKey(Object.values(group))}`, v);
        return v as number | null | undefined;
      });
      out[m] = meanStd(vals);
    }
    return { group, count: rs.length, metrics: out };
  });
}

/** Turn aggregated rows into table columns/rows: group keys, n, then "mean ± std" per metric. */
export function aggregateTable(
  agg: readonly AggregateRow[],
  groupBy: readonly string[],
  metrics: readonly string[],
  digits = 3,
): { columns: string[]; rows: Cell[][] } {
  return {
    columns: [...groupBy, "n", ...metrics],
    rows: agg.map((a) => [
      ...groupBy.map((k) => a.group[k]),
      a.count,
      ...metrics.map((m) => formatMeanStd(a.metrics[m] ?? { mean: NaN, std: NaN, n: 0 }, digits)),
    ]),
  };
}

/** Whether a cell reads as a number ("1.5", "-2", "0.31 ± 0.02", "NaN"), for right alignment. */
function looksNumeric(v: Cell): boolean {
  return typeof v === "number" || (typeof v === "string" && /^[-+−]?(\d|\.\d|NaN|∞)/.test(v.trim()));
}

/** Right-align a column when all its present cells (ignoring blanks and "—") look numeric. */
export function isNumericColumn(rows: readonly (readonly Cell[])[], j: number): boolean {
  const present = rows.map((r) => r[j]).filter((v) => v !== null && v !== undefined && v !== "" && v !== "—");
  return present.length > 0 && present.every(looksNumeric);
}

function escapeMdCell(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, "<br>");
}

export interface MarkdownTableOptions {
  /** Per-column alignment; default: right for columns whose present cells all look numeric. */
  align?: readonly ("left" | "right" | "center")[];
  /** Significant digits for non-integer numbers (default 4). */
  digits?: number;
}

/** Render a GitHub-flavoured markdown table, columns padded for readability in plain text. */
export function markdownTable(
  columns: readonly string[],
  rows: readonly (readonly Cell[])[],
  opts: MarkdownTableOptions = {},
): string {
  if (!Array.isArray(columns) || columns.length === 0) fail("non-empty array", "columns", columns);
  if (!Array.isArray(rows)) fail("array", "rows", rows);
  const digits = opts.digits ?? 4;
  rows.forEach((r, i) => {
    if (!Array.isArray(r)) fail("array", `rows[${i}]`, r);
    if (r.length !== columns.length) {
      throw new ArgumentError(
        `Expected rows[${i}] to have ${columns.length} cells (one per column) but received ${r.length}`,
      );
    }
  });
  const align = columns.map((_, j) => {
    if (opts.align?.[j]) return opts.align[j]!;
    return isNumericColumn(rows, j) ? "right" : "left";
  });
  const head = columns.map((c) => escapeMdCell(String(c)));
  const body = rows.map((r) => r.map((v: Cell) => escapeMdCell(formatCell(v, digits))));
  const widths = head.map((h, j) => Math.max(3, h.length, ...body.map((r) => r[j]!.length)));
  const pad = (s: string, j: number): string =>
    align[j] === "right"
      ? s.padStart(widths[j]!)
      : align[j] === "center"
        ? s.padStart(Math.floor((widths[j]! + s.length) / 2)).padEnd(widths[j]!)
        : s.padEnd(widths[j]!);
  const line = (cells: string[]): string => `| ${cells.map(pad).join(" | ")} |`;
  const sep = widths.map((w, j) => {
    const a = align[j];
    return a === "right"
      ? "-".repeat(w - 1) + ":"
      : a === "center"
        ? ":" + "-".repeat(w - 2) + ":"
        : "-".repeat(w);
  });
  return [line(head), `| ${sep.join(" | ")} |`, ...body.map(line)].join("\n") + "\n";
}
