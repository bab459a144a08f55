/**
 * Dependency-free line charts rendered as self-contained SVG strings (training curves, metric
 * sweeps). Missing points (null, undefined, NaN, ±Infinity, and values <= 0 on a log axis) break
 * the line; isolated points are drawn as dots so a single-point series is still visible.
 */
import { ArgumentError } from "../errors.js";
import { fail, positiveInt } from "../util/validate.js";

export type MaybeNumber = number | null | undefined;

export interface Series {
  /** Legend label; series with the same name, colour and dash share one legend entry. */
  name: string;
  /** y values; missing entries break the line. */
  y: readonly MaybeNumber[];
  /** x values, same length as y (default 0, 1, 2, ...). */
  x?: readonly MaybeNumber[];
  /** CSS colour (default from a 10-colour palette). */
  color?: string;
  /** Draw the line dashed. */
  dashed?: boolean;
}

export interface LineChartOptions {
  series: readonly Series[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Logarithmic y axis (values <= 0 are treated as missing). */
  logY?: boolean;
  /** Width in pixels (default 640). */
  width?: number;
  /** Height in pixels (default 360). */
  height?: number;
  /** Dots at data points: true, false, or "auto" (default: when a series has at most 30 points). */
  markers?: boolean | "auto";
}

/** Tableau 10. */
export const PALETTE: readonly string[] = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

/** Escape text for use in XML/HTML text and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) =>
    ch === "&" ? "&amp;" : ch === "<" ? "&lt;" : ch === ">" ? "&gt;" : ch === '"' ? "&quot;" : "&#39;",
  );
}

/** Rough text width for layout (no font metrics available). */
function textWidth(s: string, fontSize: number): number {
  return s.length * fontSize * 0.58;
}

function r2(v: number): string {
  return String(Math.round(v * 100) / 100);
}

// ---------------------------------------------------------------------------------------------
// Ticks

function niceStep(range: number, count: number): number {
  const raw = range / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

/** Format a tick value given the tick step (so 0.1 + 0.2 prints as 0.3). */
export function formatTick(v: number, step: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) {
    const s = v
      .toExponential(3)
      .replace(/\.?0+e/, "e")
      .replace("e+", "e");
    return s;
  }
  const decimals = Math.max(0, Math.min(10, Math.ceil(-Math.log10(step) - 1e-9)));
  // Steps like 2.5 or 0.25 need one more digit.
  const needsExtra = Math.abs(Math.round(step * 10 ** decimals) - step * 10 ** decimals) > 1e-6;
  return v.toFixed(decimals + (needsExtra ? 1 : 0));
}

interface Axis {
  lo: number;
  hi: number;
  ticks: { value: number; label: string }[];
  /** Maps a data value to [0, 1]. */
  norm: (v: number) => number;
}

function linearAxis(min: number, max: number, count: number, extend: boolean): Axis {
  if (!(max > min)) {
    const d = min === 0 ? 1 : Math.abs(min) * 0.5;
    min -= d;
    max += d;
  }
  const step = niceStep(max - min, count);
  let lo = min;
  let hi = max;
  if (extend) {
    // Extend to whole steps so the axis starts and ends on a labelled tick.
    lo = Math.floor(min / step + 1e-9) * step;
    hi = Math.ceil(max / step - 1e-9) * step;
  }
  const ticks: Axis["ticks"] = [];
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  for (let k = first; k <= last; k++) {
    const value = k * step;
    ticks.push({ value, label: formatTick(Math.abs(value) < step * 1e-9 ? 0 : value, step) });
  }
  return { lo, hi, ticks, norm: (v) => (v - lo) / (hi - lo) };
}

function formatPow10(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0).replace("e+", "e");
  return String(Number(v.toPrecision(6)));
}

function logAxis(min: number, max: number): Axis {
  let l0 = Math.log10(min);
  let l1 = Math.log10(max);
  if (!(l1 > l0)) {
    l0 -= 0.5;
    l1 += 0.5;
  }
  const padL = (l1 - l0) * 0.04;
  l0 -= padL;
  l1 += padL;
  const inRange = (v: number): boolean => {
    const l = Math.log10(v);
    return l >= l0 - 1e-9 && l <= l1 + 1e-9;
  };
  const candidates = (mults: number[]): number[] => {
    const out: number[] = [];
    for (let k = Math.floor(l0); k <= Math.ceil(l1); k++) {
      for (const m of mults) {
        const v = Number((m * Math.pow(10, k)).toPrecision(6));
        if (inRange(v)) out.push(v);
      }
    }
    return out;
  };
  let values = candidates([1]);
  if (values.length > 8) {
    const every = Math.ceil(values.length / 8);
    values = values.filter((v) => Math.round(Math.log10(v)) % every === 0);
  }
  if (values.length < 3) {
    const more = candidates([1, 2, 5]);
    if (more.length <= 10) values = more;
  }
  if (values.length < 2) values = candidates([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  if (values.length < 2) {
    // Very narrow range: fall back to linear ticks positioned on the log scale.
    values = linearAxis(Math.pow(10, l0), Math.pow(10, l1), 4, false)
      .ticks.map((t) => t.value)
      .filter((v) => v > 0);
  }
  const ticks = values.map((value) => ({ value, label: formatPow10(value) }));
  return { lo: Math.pow(10, l0), hi: Math.pow(10, l1), ticks, norm: (v) => (Math.log10(v) - l0) / (l1 - l0) };
}

// ---------------------------------------------------------------------------------------------
// Chart

interface Pt {
  x: number;
  y: number;
}

function checkSeries(series: unknown): readonly Series[] {
  if (!Array.isArray(series)) fail("array", "series", series);
  series.forEach((s: unknown, i) => {
    if (typeof s !== "object" || s === null) fail("object {name, y}", `series[${i}]`, s);
    const o = s as Record<string, unknown>;
    if (typeof o.name !== "string") fail("string", `series[${i}].name`, o.name);
    if (!Array.isArray(o.y)) fail("array", `series[${i}].y`, o.y);
    if (o.x !== undefined) {
      if (!Array.isArray(o.x)) fail("array", `series[${i}].x`, o.x);
      if (o.x.length !== o.y.length) {
        throw new ArgumentError(
          `Expected series[${i}].x to have length ${o.y.length} (same as y) but received length ${o.x.length}`,
        );
      }
    }
    if (o.color !== undefined && (typeof o.color !== "string" || !/^[#(),.%\w\s-]+$/.test(o.color))) {
      fail("CSS colour string", `series[${i}].color`, o.color);
    }
  });
  return series as readonly Series[];
}

/** Render a line chart as a standalone SVG document string. */
export function lineChart(opts: LineChartOptions): string {
  if (typeof opts !== "object" || opts === null) fail("options object", "options", opts);
  const series = checkSeries(opts.series);
  const width = opts.width === undefined ? 640 : positiveInt(opts.width, "width");
  const height = opts.height === undefined ? 360 : positiveInt(opts.height, "height");
  const logY = opts.logY === true;
  const markersOpt = opts.markers ?? "auto";

  // Clean points: segments of consecutive valid points.
  const segmentsPerSeries: Pt[][][] = series.map((s) => {
    const segs: Pt[][] = [];
    let cur: Pt[] = [];
    for (let i = 0; i < s.y.length; i++) {
      const xv = s.x ? s.x[i] : i;
      const yv = s.y[i];
      const ok =
        typeof xv === "number" &&
        Number.isFinite(xv) &&
        typeof yv === "number" &&
        Number.isFinite(yv) &&
        (!logY || yv > 0);
      if (ok) cur.push({ x: xv, y: yv });
      else if (cur.length) {
        segs.push(cur);
        cur = [];
      }
    }
    if (cur.length) segs.push(cur);
    return segs;
  });
  const all = segmentsPerSeries.flat(2);
  const hasData = all.length > 0;
  let xMin = Infinity,
    xMax = -Infinity,
    yMin = Infinity,
    yMax = -Infinity;
  for (const p of all) {
    if (p.x < xMin) xMin = p.x;
    if (p.x > xMax) xMax = p.x;
    if (p.y < yMin) yMin = p.y;
    if (p.y > yMax) yMax = p.y;
  }
  if (!hasData) {
    xMin = 0;
    xMax = 1;
    yMin = logY ? 0.1 : 0;
    yMax = 1;
  }

  // Layout.
  const fs = 13;
  const title = opts.title ?? "";
  let top = 12;
  const parts: string[] = [];
  if (title) {
    parts.push(
      `<text x="${r2(width / 2)}" y="${top + 15}" text-anchor="middle" font-size="16" font-weight="600" fill="#222">${escapeXml(title)}</text>`,
    );
    top += 28;
  }
  // Legend rows: series that look alike (name, colour, dash) share one entry, e.g. the seeds of one configuration.
  const colors = series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]!);
  const legendItems = series
    .map((s, i) => ({ name: s.name, color: colors[i]!, s }))
    .filter(
      (item, i, all) =>
        all.findIndex(
          (o) => o.name === item.name && o.color === item.color && !o.s.dashed === !item.s.dashed,
        ) === i,
    );
  const legendRows: { x: number; item: (typeof legendItems)[number] }[][] = [];
  {
    let row: { x: number; item: (typeof legendItems)[number] }[] = [];
    let x = 0;
    const maxW = width - 24;
    for (const item of legendItems) {
      const w = 22 + textWidth(item.name, fs) + 16;
      if (row.length && x + w > maxW) {
        legendRows.push(row);
        row = [];
        x = 0;
      }
      row.push({ x, item });
      x += w;
    }
    if (row.length) legendRows.push(row);
  }
  const legendTop = top;
  top += legendRows.length * 18 + (legendRows.length ? 6 : 0);

  const xAxis = linearAxis(xMin, xMax, Math.max(2, Math.floor(width / 110)), false);
  const yAxis = logY
    ? logAxis(yMin, yMax)
    : linearAxis(yMin, yMax, Math.max(2, Math.floor(height / 70)), true);
  const yLabelW = Math.max(...yAxis.ticks.map((t) => textWidth(t.label, fs - 1)), 10);
  const left = 12 + (opts.yLabel ? 20 : 0) + yLabelW + 8;
  const right = 18;
  const bottom = 24 + (opts.xLabel ? 20 : 0);
  const plotW = Math.max(10, width - left - right);
  const plotH = Math.max(10, height - top - bottom);
  const px = (v: number): number => left + xAxis.norm(v) * plotW;
  const py = (v: number): number => top + plotH - yAxis.norm(v) * plotH;

  // Legend.
  legendRows.forEach((row, ri) => {
    const rowW = row.length ? row[row.length - 1]!.x + 22 + textWidth(row[row.length - 1]!.item.name, fs) : 0;
    const x0 = Math.max(12, left + (plotW - rowW) / 2);
    const y = legendTop + ri * 18 + 9;
    for (const { x, item } of row) {
      const dash = item.s.dashed ? ` stroke-dasharray="5 3"` : "";
      parts.push(
        `<line x1="${r2(x0 + x)}" y1="${y}" x2="${r2(x0 + x + 18)}" y2="${y}" stroke="${escapeXml(item.color)}" stroke-width="2.5"${dash}/>` +
          `<text x="${r2(x0 + x + 22)}" y="${y + 4}" font-size="${fs}" fill="#333">${escapeXml(item.name)}</text>`,
      );
    }
  });

  // Grid and ticks.
  const grid: string[] = [];
  for (const t of yAxis.ticks) {
    const y = r2(py(t.value));
    grid.push(`<line x1="${r2(left)}" y1="${y}" x2="${r2(left + plotW)}" y2="${y}" stroke="#e6e6e6"/>`);
    grid.push(
      `<text x="${r2(left - 6)}" y="${y}" dy="0.32em" text-anchor="end" font-size="${fs - 1}" fill="#555">${escapeXml(t.label)}</text>`,
    );
  }
  for (const t of xAxis.ticks) {
    const x = r2(px(t.value));
    grid.push(`<line x1="${x}" y1="${r2(top)}" x2="${x}" y2="${r2(top + plotH)}" stroke="#f0f0f0"/>`);
    grid.push(
      `<line x1="${x}" y1="${r2(top + plotH)}" x2="${x}" y2="${r2(top + plotH + 4)}" stroke="#888"/>`,
    );
    grid.push(
      `<text x="${x}" y="${r2(top + plotH + 17)}" text-anchor="middle" font-size="${fs - 1}" fill="#555">${escapeXml(t.label)}</text>`,
    );
  }
  parts.push(`<g class="grid">${grid.join("")}</g>`);
  parts.push(
    `<rect x="${r2(left)}" y="${r2(top)}" width="${r2(plotW)}" height="${r2(plotH)}" fill="none" stroke="#bbb"/>`,
  );
  if (opts.xLabel) {
    parts.push(
      `<text x="${r2(left + plotW / 2)}" y="${r2(height - 8)}" text-anchor="middle" font-size="${fs}" fill="#333">${escapeXml(opts.xLabel)}</text>`,
    );
  }
  if (opts.yLabel) {
    const cx = 16;
    const cy = top + plotH / 2;
    parts.push(
      `<text x="${cx}" y="${r2(cy)}" transform="rotate(-90 ${cx} ${r2(cy)})" text-anchor="middle" dy="0.32em" font-size="${fs}" fill="#333">${escapeXml(opts.yLabel + (logY ? " (log)" : ""))}</text>`,
    );
  }
  if (!hasData) {
    parts.push(
      `<text x="${r2(left + plotW / 2)}" y="${r2(top + plotH / 2)}" text-anchor="middle" font-size="${fs + 1}" fill="#999">no data</text>`,
    );
  }

  // Series.
  series.forEach((s, i) => {
    const color = escapeXml(colors[i]!);
    const segs = segmentsPerSeries[i]!;
    const d = segs
      .filter((seg) => seg.length > 1)
      .map((seg) => seg.map((p, k) => `${k ? "L" : "M"}${r2(px(p.x))} ${r2(py(p.y))}`).join(""))
      .join("");
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    const count = segs.reduce((a, seg) => a + seg.length, 0);
    const showMarkers = markersOpt === true || (markersOpt === "auto" && count <= 30);
    const dots = segs
      .filter((seg) => showMarkers || seg.length === 1)
      .flat()
      .map(
        (p) =>
          `<circle cx="${r2(px(p.x))}" cy="${r2(py(p.y))}" r="${showMarkers ? 2.5 : 3}" fill="${color}"/>`,
      )
      .join("");
    parts.push(
      `<g class="series" data-series="${i}"><title>${escapeXml(s.name)}</title>` +
        `<path class="series"${d ? ` d="${d}"` : ""} fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"${dash}/>` +
        dots +
        `</g>`,
    );
  });

  const label = escapeXml(title || "line chart");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" ` +
    `role="img" aria-label="${label}" font-family="${escapeXml(FONT)}">` +
    `<title>${label}</title>` +
    `<rect width="${width}" height="${height}" fill="#fff"/>` +
    parts.join("") +
    `</svg>`
  );
}
