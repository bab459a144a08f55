/**
 * The live dashboard's page (`lastframe serve`): one HTML page, its script and uPlot's, served as same-origin
 * files so that a strict Content-Security-Policy (no inline script, nothing from elsewhere) holds. The script polls
 * the server's JSON API (`/api/runs`, `/api/metrics?run=…&offset=…`, which tails metrics.jsonl) and draws with uPlot
 * (a small canvas charting library: zoom by dragging, values on hover, many series), bundled from node_modules so
 * that nothing is fetched from the internet. The page knows only the API's plain data, not runs or suites.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { escapeXml } from "./svg.js";

/** Header of every dashboard response that is not a run's own file. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const CSS = `
:root{--fg:#1d2433;--muted:#5f6b7a;--line:#e3e7ee;--soft:#f6f8fb;--accent:#3b6fb6}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;display:grid;grid-template-columns:300px 1fr;min-height:100vh}
aside{border-right:1px solid var(--line);background:var(--soft);padding:16px}
aside h1{font-size:18px;margin:0 0 2px}
#status{color:var(--muted);font-size:12px;margin-bottom:12px}
#runs{list-style:none;margin:0;padding:0}
#runs li{margin:0 0 8px}
#runs label{display:flex;gap:6px;align-items:baseline;cursor:pointer;overflow-wrap:anywhere}
#runs .swatch{display:inline-block;width:10px;height:10px;border-radius:2px;flex:none}
#runs small{display:block;color:var(--muted);margin-left:22px}
main{padding:16px 20px;min-width:0}
h2{font-size:16px;margin:18px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
#charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:14px}
.chart{border:1px solid var(--line);border-radius:8px;padding:6px;min-width:0;overflow:hidden}
.chart .u-legend{max-width:100%}
.chart .u-legend .u-series>*{white-space:normal;overflow-wrap:anywhere}
table{border-collapse:collapse;font-size:13px}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
th:first-child,td:first-child{text-align:left}
th{background:var(--soft)}
#samples{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:8px;background:var(--soft)}
figure img{display:block;image-rendering:pixelated;max-width:100%}
figcaption{color:var(--muted);font-size:12px;margin-top:4px}
.empty{color:var(--muted)}
`;

/** The page itself: the run list, then charts, the eval table and sample grids, which the script fills in. */
function page(title: string): string {
  const t = escapeXml(title);
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n<link rel="icon" href="data:,">\n<title>${t}</title>\n` +
    `<link rel="stylesheet" href="/assets/uplot.css">\n<link rel="stylesheet" href="/assets/dashboard.css">\n` +
    `</head>\n<body>\n<aside><h1>${t}</h1><div id="status">connecting…</div><ul id="runs"></ul></aside>\n` +
    `<main><h2>Curves</h2><div id="charts"><p class="empty">No metrics yet.</p></div>` +
    `<h2>Evaluation</h2><div id="evals"><p class="empty">No run has an eval.json yet.</p></div>` +
    `<h2>Samples</h2><div id="samples"><p class="empty">No sample grid yet.</p></div></main>\n` +
    `<script src="/assets/uplot.js"></script>\n<script src="/assets/dashboard.js"></script>\n</body>\n</html>\n`
  );
}

// The browser side, as plain ES2020 (this project compiles without DOM typings). Every string from the server is
// put into the page as text (textContent, attributes), never as markup. A chart is rebuilt only when its set of
// lines changes; otherwise new points go in with setData, keeping the user's zoom.
const SCRIPT = String.raw`"use strict";
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
const POLL_MS = 2000;
const MAX_AUTO = 6; // runs selected on sight; more would crowd the charts
const state = { runs: [], known: new Set(), selected: new Set(), metrics: new Map(), charts: new Map(), ticks: 0 };

function el(tag, props, children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === "text") e.textContent = v;
    else if (k === "style") Object.assign(e.style, v);
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children || []) e.append(c);
  return e;
}

async function getJson(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(url + ": HTTP " + r.status);
  return r.json();
}

const color = (run) => PALETTE[state.runs.findIndex((r) => r.id === run.id) % PALETTE.length];
const selectedRuns = () => state.runs.filter((r) => state.selected.has(r.id));
const fmt = (v) => (typeof v !== "number" ? "" : Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(Number(v.toPrecision(4))));

function describe(s) {
  return [s.model && s.model + (s.preset ? " (" + s.preset + ")" : ""), s.data, s.spec, s.frames !== undefined ? "T = " + s.frames : "", s.step !== undefined ? "step " + s.step : ""].filter(Boolean).join(" · ");
}

let listed = "";
function renderRunList() {
  // Rebuilt only when a run, its description or the selection changed: a checkbox is not replaced under a click.
  const signature = JSON.stringify(state.runs.map((r) => [r.id, describe(r.summary), r.problem, state.selected.has(r.id)]));
  if (signature === listed) return;
  listed = signature;
  const list = document.getElementById("runs");
  list.replaceChildren(...state.runs.map((run) => {
    const box = el("input", { type: "checkbox", checked: state.selected.has(run.id), "data-run": run.id });
    box.addEventListener("change", () => {
      if (box.checked) state.selected.add(run.id);
      else state.selected.delete(run.id);
      tick();
    });
    return el("li", {}, [el("label", {}, [box, el("span", { className: "swatch", style: { background: color(run) } }), el("span", { className: "name", text: run.name })]), el("small", { text: run.problem ? "unreadable: " + run.problem : describe(run.summary) })]);
  }));
}

function renderEvals() {
  const runs = selectedRuns().filter((r) => r.summary.eval);
  const box = document.getElementById("evals");
  if (!runs.length) return box.replaceChildren(el("p", { className: "empty", text: "No selected run has an eval.json yet." }));
  const cols = ["run", "FD", "KID", "precision", "recall", "bpd", "bpd per frame"];
  const row = (r) => { const e = r.summary.eval; return [r.name, fmt(e.fd), fmt(e.kid), fmt(e.precision), fmt(e.recall), fmt(e.bpd), (e.frameBpd || []).map(fmt).join(" · ")]; };
  box.replaceChildren(el("table", { id: "eval-table" }, [el("thead", {}, [el("tr", {}, cols.map((c) => el("th", { text: c })))]), el("tbody", {}, runs.map((r) => el("tr", { "data-run": r.id }, row(r).map((v) => el("td", { text: v })))))]));
}

function renderSamples() {
  const figs = selectedRuns().flatMap((run) => run.media.map((m) => {
    const img = el("img", { src: m.url, alt: run.name + ": " + m.caption });
    // Grids are small (28-pixel cells): scaled by the integer that brings them nearest 480 pixels, pixels square.
    img.addEventListener("load", () => { img.width = img.naturalWidth * Math.max(1, Math.round(480 / img.naturalWidth)); }, { once: true });
    return el("figure", { "data-run": run.id }, [img, el("figcaption", { text: run.name + ": " + m.caption })]);
  }));
  const box = document.getElementById("samples");
  // Keep images whose file did not change, so a poll does not make them flicker.
  const same = figs.length === box.children.length && figs.every((f, i) => box.children[i].querySelector && box.children[i].querySelector("img") && box.children[i].querySelector("img").getAttribute("src") === f.querySelector("img").getAttribute("src"));
  if (!same) box.replaceChildren(...(figs.length ? figs : [el("p", { className: "empty", text: "No sample grid yet." })]));
}

async function pollMetrics(run) {
  const m = state.metrics.get(run.id) || { offset: 0, records: [] };
  const r = await getJson("/api/metrics?run=" + encodeURIComponent(run.id) + "&offset=" + m.offset);
  // The file shrank (a resumed run cuts it back to its checkpoint): start over.
  if (r.reset) m.records = [];
  m.records.push(...r.records);
  m.offset = r.offset;
  state.metrics.set(run.id, m);
}

/** Charts from the selected runs' records: training loss, each test metric, per-frame metrics one line per frame. */
function chartSpecs() {
  const specs = new Map();
  const add = (key, title, label, run, frame, points) => {
    if (!specs.has(key)) specs.set(key, { title, lines: [] });
    specs.get(key).lines.push({ label, color: color(run), frame, points });
  };
  for (const run of selectedRuns()) {
    const records = (state.metrics.get(run.id) || { records: [] }).records;
    const train = records.filter((r) => r.type === "train" && typeof r.loss === "number").map((r) => [r.step, r.loss]);
    if (train.length) add("train:loss", "training loss", run.name, run, undefined, train);
    const evals = records.filter((r) => r.type === "eval");
    const keys = new Set();
    for (const r of evals) for (const [k, v] of Object.entries(r)) if (k !== "step" && k !== "time" && (typeof v === "number" || Array.isArray(v))) keys.add(k);
    for (const k of keys) {
      const frames = Math.max(0, ...evals.map((r) => (Array.isArray(r[k]) ? r[k].length : 0)));
      if (!frames) add("eval:" + k, "test " + k, run.name, run, undefined, evals.filter((r) => typeof r[k] === "number").map((r) => [r.step, r[k]]));
      else for (let f = 0; f < frames; f++) add("eval:" + k, "test " + k + " per frame", run.name + ": frame " + (f + 1), run, { f, last: f === frames - 1 }, evals.filter((r) => Array.isArray(r[k]) && typeof r[k][f] === "number").map((r) => [r.step, r[k][f]]));
    }
  }
  return specs;
}

/** uPlot wants one x array shared by all lines: the union of their steps, with gaps (null) where a line has none. */
function align(lines) {
  const xs = [...new Set(lines.flatMap((l) => l.points.map((p) => p[0])))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  return [xs, ...lines.map((l) => { const ys = new Array(xs.length).fill(null); for (const [x, y] of l.points) ys[at.get(x)] = y; return ys; })];
}

function renderCharts() {
  const box = document.getElementById("charts");
  const specs = chartSpecs();
  for (const [key, c] of state.charts) if (!specs.has(key)) { c.plot.destroy(); c.div.remove(); state.charts.delete(key); }
  if (!specs.size) return box.replaceChildren(el("p", { className: "empty", text: "No metrics yet." }));
  box.querySelectorAll("p.empty").forEach((p) => p.remove());
  for (const [key, spec] of specs) {
    const data = align(spec.lines);
    const signature = spec.lines.map((l) => l.label + l.color).join("|");
    let c = state.charts.get(key);
    if (c && c.signature !== signature) { c.plot.destroy(); c.div.remove(); state.charts.delete(key); c = undefined; }
    if (!c) {
      const div = el("div", { className: "chart", "data-key": key });
      box.append(div);
      const width = Math.max(300, div.clientWidth - 12);
      const series = [{ label: "step" }, ...spec.lines.map((l) => ({ label: l.label, stroke: l.color, width: l.frame && !l.frame.last ? 1 : 1.5, dash: l.frame && !l.frame.last ? [6, 4] : undefined, spanGaps: true, points: { show: l.points.length < 30 }, value: (u, v) => fmt(v) }))];
      const plot = new uPlot({ title: spec.title, width, height: 260, scales: { x: { time: false } }, series, cursor: { drag: { x: true, y: false } }, axes: [{ label: "step" }, { size: 60 }] }, data, div);
      c = { div, plot, signature };
      state.charts.set(key, c);
    } else {
      const xs = c.plot.data[0];
      const s = c.plot.scales.x;
      const zoomed = xs.length > 1 && (s.min > xs[0] || s.max < xs[xs.length - 1]);
      c.plot.setData(data, !zoomed);
    }
    c.div.setAttribute("data-points", String(data.slice(1).reduce((n, ys) => n + ys.filter((y) => y !== null).length, 0)));
  }
}

let busy = false;
async function tick() {
  if (busy) return;
  busy = true;
  const status = document.getElementById("status");
  try {
    const { runs, roots } = await getJson("/api/runs");
    state.runs = runs;
    for (const r of runs) if (!state.known.has(r.id)) { state.known.add(r.id); if (state.selected.size < MAX_AUTO) state.selected.add(r.id); }
    for (const id of [...state.selected]) if (!runs.some((r) => r.id === id)) state.selected.delete(id);
    await Promise.all(selectedRuns().map(pollMetrics));
    renderRunList();
    renderCharts();
    renderEvals();
    renderSamples();
    status.textContent = runs.length + " run(s) under " + roots.join(", ") + " · updated " + new Date().toLocaleTimeString();
  } catch (e) {
    status.textContent = "lost the server (" + e.message + "); retrying";
  } finally {
    busy = false;
    document.body.setAttribute("data-ticks", String(++state.ticks));
  }
}

tick();
setInterval(tick, POLL_MS);
`;

/** uPlot's browser build and its stylesheet, read from node_modules once. */
function uplotFile(name: string): string {
  return readFileSync(createRequire(import.meta.url).resolve(`uplot/dist/${name}`), "utf8");
}

/** Everything the dashboard serves besides the API and run files: path → [content type, body]. */
export function dashboardAssets(title: string): Map<string, [string, string]> {
  return new Map([
    ["/", ["text/html; charset=utf-8", page(title)]],
    ["/assets/dashboard.js", ["text/javascript; charset=utf-8", SCRIPT]],
    ["/assets/dashboard.css", ["text/css; charset=utf-8", CSS]],
    ["/assets/uplot.js", ["text/javascript; charset=utf-8", uplotFile("uPlot.iife.min.js")]],
    ["/assets/uplot.css", ["text/css; charset=utf-8", uplotFile("uPlot.min.css")]],
  ]);
}
