/**
 * One self-contained HTML report page: inline CSS, charts as inline SVG, images as data URIs, no
 * scripts and no external requests (a Content-Security-Policy meta tag enforces both). All text
 * coming from `ReportData` is escaped.
 */
import { ArgumentError } from "../errors.js";
import { writeFileAtomicAsync } from "../util/atomic.js";
import { formatCell, isNumericColumn, type Cell } from "./markdown.js";
import { escapeXml, lineChart, type LineChartOptions } from "./svg.js";
import { fail, nonEmptyString } from "../util/validate.js";

export interface ReportTable {
  title: string;
  /** Text shown under the title. */
  caption?: string;
  columns: readonly string[];
  /** Cells are strings or numbers (numbers are formatted and right-aligned); null/undefined are blank. */
  rows: readonly (readonly Cell[])[];
  /** Significant digits for non-integer numbers (default 4). */
  digits?: number;
}

interface ChartBase {
  /** Heading above the chart (the chart may also carry its own title). */
  title?: string;
  caption?: string;
}

/** A chart: either options for {@link lineChart} (rendered inline), or an SVG document string,
 * which is embedded as an image (data URI) so that untrusted markup in it cannot run. */
export type ReportChart = (ChartBase & { chart: LineChartOptions }) | (ChartBase & { svg: string });

export type ImageMime = "image/png" | "image/gif" | "image/jpeg" | "image/webp";

export interface ReportImage {
  /** Encoded image bytes (e.g. from encodePng / encodeGif). */
  data: Uint8Array;
  /** Detected from the bytes when omitted. */
  mime?: ImageMime;
  caption?: string;
  /** Alternative text (default: the caption). */
  alt?: string;
  /** Display width in CSS pixels (default: natural size, shrunk to fit). */
  width?: number;
  /** Nearest-neighbour upscaling in the browser (default true: these are small generated images). */
  pixelated?: boolean;
}

export interface ReportGallery {
  title: string;
  description?: string;
  images: readonly ReportImage[];
}

export interface ReportRun {
  name: string;
  /** Any JSON-like value; shown pretty-printed in a collapsible block. */
  config: unknown;
  /** Optional one-line description shown next to the name. */
  note?: string;
  /** Open the block by default. */
  open?: boolean;
}

export interface ReportData {
  title: string;
  subtitle?: string;
  /** Shown in the header (Date rendered as ISO string). */
  generatedAt?: string | Date;
  /** Paragraphs of plain text. */
  summary?: string | readonly string[];
  /** Key facts shown as a small label/value grid (e.g. dataset, steps, best FID). */
  facts?: readonly { label: string; value: Cell }[];
  tables?: readonly ReportTable[];
  charts?: readonly ReportChart[];
  galleries?: readonly ReportGallery[];
  runs?: readonly ReportRun[];
}

/** Escape text for HTML element content and attribute values. */
const escapeHtml = escapeXml;

/** Detect an image type from its magic bytes. */
export function detectImageMime(data: Uint8Array): ImageMime | undefined {
  const b = (i: number): number => data[i] ?? -1;
  if (b(0) === 0x89 && b(1) === 0x50 && b(2) === 0x4e && b(3) === 0x47) return "image/png";
  if (b(0) === 0x47 && b(1) === 0x49 && b(2) === 0x46 && b(3) === 0x38) return "image/gif";
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return "image/jpeg";
  if (b(0) === 0x52 && b(1) === 0x49 && b(2) === 0x46 && b(3) === 0x46 && b(8) === 0x57 && b(9) === 0x45)
    return "image/webp";
  return undefined;
}

/** Width in pixels from a PNG's IHDR or a GIF's logical screen descriptor (undefined for other types). */
function naturalWidth(data: Uint8Array): number | undefined {
  const mime = detectImageMime(data);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (mime === "image/png" && data.length >= 24) return view.getUint32(16);
  if (mime === "image/gif" && data.length >= 8) return view.getUint16(6, true);
  return undefined;
}

/** Generated grids are small (28-pixel cells at scale 2): shown at the integer multiple of their width nearest
 * to this, so that cells are big enough to read and pixels stay square. */
const READABLE_WIDTH = 480;

/** A display width for {@link ReportImage.width}: the natural width times the integer (at least 1) that brings it
 * nearest to {@link READABLE_WIDTH}; undefined when the width cannot be read. */
export function readableWidth(data: Uint8Array): number | undefined {
  const w = naturalWidth(data);
  return w && w * Math.max(1, Math.round(READABLE_WIDTH / w));
}

function dataUri(mime: string, data: Uint8Array | string): string {
  const buf =
    typeof data === "string"
      ? Buffer.from(data, "utf8")
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return `data:${mime};base64,${buf.toString("base64")}`;
}

/** JSON.stringify that survives cycles, bigints, NaN/Infinity, typed arrays and Maps/Sets. */
export function safeJson(value: unknown, indent = 2): string {
  // Ancestor stack (not a global "seen" set) so shared, non-cyclic references print in full.
  const ancestors: unknown[] = [];
  const out = JSON.stringify(
    value,
    function (this: unknown, _key: string, v: unknown) {
      if (typeof v === "bigint") return `${v}n`;
      if (typeof v === "number" && !Number.isFinite(v)) return String(v);
      if (typeof v === "function" || typeof v === "symbol") return undefined;
      if (typeof v === "object" && v !== null) {
        while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
        if (ancestors.includes(v)) return "[Circular]";
        if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
          const arr = v as unknown as ArrayLike<number>;
          return arr.length > 64 ? `${v.constructor.name}(${arr.length})` : Array.from(arr);
        }
        // Converted containers get pushed after the original, so cycles through them are caught too.
        ancestors.push(v);
        if (v instanceof Map) v = Object.fromEntries(v);
        else if (v instanceof Set) v = [...v];
        if (v !== ancestors[ancestors.length - 1]) ancestors.push(v);
      }
      return v;
    },
    indent,
  );
  return out === undefined ? String(value) : out;
}

// ---------------------------------------------------------------------------------------------

const CSS = `
:root{--fg:#1d2433;--muted:#5f6b7a;--line:#e3e7ee;--bg:#fff;--soft:#f6f8fb;--accent:#3b6fb6}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1160px;margin:0 auto;padding:28px 28px 64px}
header{border-bottom:1px solid var(--line);padding-bottom:14px;margin-bottom:8px}
h1{font-size:28px;line-height:1.2;margin:0 0 4px;letter-spacing:-.01em}
h2{font-size:20px;margin:36px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:16px;margin:22px 0 6px}
p{margin:8px 0}
.subtitle{color:var(--muted);font-size:16px;margin:0}
.meta{color:var(--muted);font-size:13px;margin-top:6px}
nav.toc{font-size:13px;color:var(--muted);margin:10px 0 0}
nav.toc a{color:var(--accent);text-decoration:none;margin-right:14px}
nav.toc a:hover{text-decoration:underline}
.summary p{max-width:80ch}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:10px;margin:16px 0 0;padding:0}
.fact{background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:8px 12px;margin:0}
.fact dt{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.fact dd{margin:2px 0 0;font-size:17px;font-weight:600;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.caption{color:var(--muted);font-size:13px;margin:0 0 8px}
.table-wrap{display:block;width:fit-content;max-width:100%;overflow-x:auto;margin:6px 0 14px;border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;min-width:min(100%,560px);font-size:14px}
th,td{padding:7px 14px;text-align:left;border-bottom:1px solid var(--line);white-space:nowrap}
th{background:var(--soft);font-weight:600;color:#2b3443}
tbody tr:last-child td{border-bottom:0}
tbody tr:nth-child(even) td{background:#fbfcfe}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,520px),1fr));gap:18px}
figure{margin:0}
.chart{border:1px solid var(--line);border-radius:8px;padding:8px;background:#fff}
.chart svg,.chart img{display:block;width:100%;height:auto}
figcaption{color:var(--muted);font-size:13px;margin-top:6px;overflow-wrap:anywhere}
.gallery{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.gallery figure{max-width:100%;background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:10px}
.gallery img{display:block;max-width:100%;height:auto}
img.pixelated{image-rendering:pixelated}
details{border:1px solid var(--line);border-radius:8px;margin:8px 0;background:#fff}
details>summary{cursor:pointer;padding:8px 12px;font-weight:600;list-style-position:inside}
details>summary .note{font-weight:400;color:var(--muted);margin-left:8px}
details[open]>summary{border-bottom:1px solid var(--line)}
pre{margin:0;padding:12px 14px;overflow:auto;max-height:480px;background:var(--soft);border-radius:0 0 8px 8px;font:12.5px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
footer{margin-top:48px;color:var(--muted);font-size:12px}
@media print{details{break-inside:avoid}.chart,.gallery figure{break-inside:avoid}}
`;

const CSP =
  "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

function renderTable(t: ReportTable, i: number): string {
  if (typeof t !== "object" || t === null) fail("object {title, columns, rows}", `tables[${i}]`, t);
  if (typeof t.title !== "string") fail("string", `tables[${i}].title`, t.title);
  if (!Array.isArray(t.columns)) fail("array", `tables[${i}].columns`, t.columns);
  if (!Array.isArray(t.rows)) fail("array", `tables[${i}].rows`, t.rows);
  t.rows.forEach((r, k) => {
    if (!Array.isArray(r)) fail("array", `tables[${i}].rows[${k}]`, r);
    if (r.length !== t.columns.length) {
      throw new ArgumentError(
        `Expected tables[${i}].rows[${k}] to have ${t.columns.length} cells (one per column) but received ${r.length}`,
      );
    }
  });
  const num = t.columns.map((_, j) => isNumericColumn(t.rows, j));
  const cls = (j: number): string => (num[j] ? ` class="num"` : "");
  const head = t.columns.map((c, j) => `<th scope="col"${cls(j)}>${escapeHtml(String(c))}</th>`).join("");
  const body = t.rows
    .map(
      (r) =>
        `<tr>${r.map((v: Cell, j: number) => `<td${cls(j)}>${escapeHtml(formatCell(v, t.digits ?? 4))}</td>`).join("")}</tr>`,
    )
    .join("\n");
  return (
    `<h3>${escapeHtml(t.title)}</h3>` +
    (t.caption ? `<p class="caption">${escapeHtml(t.caption)}</p>` : "") +
    `<div class="table-wrap"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`
  );
}

function renderChart(c: ReportChart, i: number): string {
  if (typeof c !== "object" || c === null) fail("object {chart} or {svg}", `charts[${i}]`, c);
  let inner: string;
  if ("chart" in c && c.chart !== undefined) {
    // Sized to the two-column chart grid so text renders near its nominal size.
    inner = lineChart({ width: 540, height: 330, ...c.chart });
  } else if ("svg" in c && typeof c.svg === "string") {
    const alt = c.title ?? c.caption ?? "chart";
    inner = `<img src="${dataUri("image/svg+xml", c.svg)}" alt="${escapeHtml(alt)}">`;
  } else {
    return fail("object with chart options or svg string", `charts[${i}]`, c);
  }
  return (
    `<figure class="chart">` +
    (c.title ? `<h3>${escapeHtml(c.title)}</h3>` : "") +
    inner +
    (c.caption ? `<figcaption>${escapeHtml(c.caption)}</figcaption>` : "") +
    `</figure>`
  );
}

function renderImage(im: ReportImage, gi: number, k: number): string {
  const name = `galleries[${gi}].images[${k}]`;
  if (typeof im !== "object" || im === null) fail("object {data}", name, im);
  if (!(im.data instanceof Uint8Array)) fail("Uint8Array", `${name}.data`, im.data);
  const mime = im.mime ?? detectImageMime(im.data);
  if (!mime) throw new ArgumentError(`Could not detect the image type of ${name}.data; pass mime explicitly`);
  const alt = im.alt ?? im.caption ?? "";
  const width =
    im.width !== undefined
      ? ` width="${typeof im.width === "number" && im.width > 0 ? Math.round(im.width) : fail("positive number", `${name}.width`, im.width)}"`
      : "";
  const cls = im.pixelated === false ? "" : ` class="pixelated"`;
  return (
    `<figure><img src="${dataUri(mime, im.data)}" alt="${escapeHtml(alt)}"${width}${cls}>` +
    (im.caption ? `<figcaption>${escapeHtml(im.caption)}</figcaption>` : "") +
    `</figure>`
  );
}

function renderGallery(g: ReportGallery, i: number): string {
  if (typeof g !== "object" || g === null) fail("object {title, images}", `galleries[${i}]`, g);
  if (!Array.isArray(g.images)) fail("array", `galleries[${i}].images`, g.images);
  return (
    `<h3>${escapeHtml(String(g.title ?? ""))}</h3>` +
    (g.description ? `<p class="caption">${escapeHtml(g.description)}</p>` : "") +
    `<div class="gallery">${g.images.map((im, k) => renderImage(im, i, k)).join("")}</div>`
  );
}

function renderRun(r: ReportRun, i: number): string {
  if (typeof r !== "object" || r === null) fail("object {name, config}", `runs[${i}]`, r);
  return (
    `<details${r.open ? " open" : ""}><summary>${escapeHtml(String(r.name))}` +
    (r.note ? `<span class="note">${escapeHtml(r.note)}</span>` : "") +
    `</summary><pre><code>${escapeHtml(safeJson(r.config))}</code></pre></details>`
  );
}

/** Render the whole report as one self-contained HTML document. */
export function renderReport(data: ReportData): string {
  if (typeof data !== "object" || data === null) fail("object", "data", data);
  if (typeof data.title !== "string") fail("string", "title", data.title);
  const sections: { id: string; title: string; html: string }[] = [];

  const summary =
    data.summary === undefined ? [] : typeof data.summary === "string" ? [data.summary] : data.summary;
  const facts = data.facts ?? [];
  if (summary.length || facts.length) {
    sections.push({
      id: "summary",
      title: "Summary",
      html:
        `<div class="summary">${summary.map((p) => `<p>${escapeHtml(String(p))}</p>`).join("")}</div>` +
        (facts.length
          ? `<dl class="facts">${facts
              .map(
                (f) =>
                  `<div class="fact"><dt>${escapeHtml(String(f.label))}</dt><dd>${escapeHtml(formatCell(f.value))}</dd></div>`,
              )
              .join("")}</dl>`
          : ""),
    });
  }
  if (data.tables?.length) {
    sections.push({ id: "results", title: "Results", html: data.tables.map(renderTable).join("\n") });
  }
  if (data.charts?.length) {
    sections.push({
      id: "charts",
      title: "Charts",
      html: `<div class="charts">${data.charts.map(renderChart).join("\n")}</div>`,
    });
  }
  if (data.galleries?.length) {
    sections.push({ id: "samples", title: "Samples", html: data.galleries.map(renderGallery).join("\n") });
  }
  if (data.runs?.length) {
    sections.push({ id: "runs", title: "Run configurations", html: data.runs.map(renderRun).join("\n") });
  }

  const generated =
    data.generatedAt === undefined
      ? ""
      : data.generatedAt instanceof Date
        ? data.generatedAt.toISOString()
        : String(data.generatedAt);
  const toc =
    sections.length > 1
      ? `<nav class="toc">${sections.map((s) => `<a href="#${s.id}">${escapeHtml(s.title)}</a>`).join("")}</nav>`
      : "";
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>${escapeHtml(data.title)}</title>\n<style>${CSS}</style>\n</head>\n<body>\n<main>\n` +
    `<header><h1>${escapeHtml(data.title)}</h1>` +
    (data.subtitle ? `<p class="subtitle">${escapeHtml(data.subtitle)}</p>` : "") +
    (generated ? `<div class="meta">Generated ${escapeHtml(generated)}</div>` : "") +
    toc +
    `</header>\n` +
    sections
      .map((s) => `<section id="${s.id}">\n<h2>${escapeHtml(s.title)}</h2>\n${s.html}\n</section>`)
      .join("\n") +
    `\n<footer>Generated by lastframe.</footer>\n</main>\n</body>\n</html>\n`
  );
}

/** Render the report and write it atomically to `path`. */
export async function writeReport(path: string, data: ReportData): Promise<void> {
  nonEmptyString(path, "path");
  await writeFileAtomicAsync(path, renderReport(data));
}
