// Gathers what `lastframe report` shows from folders on disk: suite results (results.json), run folders
// (config.json, metrics.jsonl, samples/*.png|gif, eval.json) found below the given paths. It knows suites, so it
// lives here and hands report/ plain data (ReportData) to render.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { datasetNames } from "../data/index.js";
import {
  type SuiteResults,
  hardwareNote,
  reuseNote,
  runRow,
  suiteMarkdown,
  suiteTable,
  suiteTitle,
} from "./aggregate.js";
import { readSuiteResults } from "./reuse.js";
import { budgets, suiteNames } from "./suites.js";
import { DataError } from "../errors.js";
import { type MetricRecord, readMetrics } from "../run/run.js";
import type { ReportChart, ReportData, ReportGallery, ReportRun, ReportTable } from "../report/html.js";
import { PALETTE } from "../report/svg.js";

export interface Found {
  suites: { dir: string; results: SuiteResults }[];
  runs: string[];
}

/** Where a value falls in a preferred order (values not listed go last, in the order they came). */
const rank = (order: readonly string[], value: string) =>
  order.includes(value) ? order.indexOf(value) : order.length;

/** Reading order of suites: the largest budget first (the conclusions rest on it), then suites in their usual
 * order, then data sets. */
function suiteOrder({ results: a }: Found["suites"][number], { results: b }: Found["suites"][number]) {
  const key = (r: SuiteResults) => [
    rank(Object.keys(budgets).reverse(), r.budget), // budgets are declared smallest first
    rank(suiteNames, r.suite),
    rank(datasetNames, r.data),
  ];
  const [ka, kb] = [key(a), key(b)];
  return ka.map((x, i) => x - kb[i]!).find((d) => d !== 0) ?? 0;
}

/** Suite folders (in reading order) and run folders at or below each path (run folders inside a suite are found
 * too). */
export function findResults(paths: string[], maxDepth = 4): Found {
  const found: Found = { suites: [], runs: [] };
  const visit = (dir: string, depth: number) => {
    if (existsSync(join(dir, "results.json")))
      found.suites.push({ dir, results: readSuiteResults(join(dir, "results.json")) });
    if (existsSync(join(dir, "config.json")) && existsSync(join(dir, "metrics.jsonl"))) {
      found.runs.push(dir);
      return;
    }
    if (depth >= maxDepth) return;
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (!name.startsWith(".") && name !== "node_modules" && statSync(p).isDirectory()) visit(p, depth + 1);
    }
  };
  for (const p of paths) {
    if (!existsSync(p) || !statSync(p).isDirectory())
      throw new DataError(`${p} is not a folder of runs or results`);
    visit(p, 0);
  }
  found.suites.sort(suiteOrder);
  if (!found.suites.length && !found.runs.length)
    throw new DataError(
      `found no results.json or run folder (config.json + metrics.jsonl) under ${paths.join(", ")}`,
    );
  return found;
}

/** The README results section: every suite's table, generated from its results.json, in reading order. */
export function resultsMarkdown(found: Found): string {
  return found.suites.map((s) => suiteMarkdown(s.results, s.dir)).join("\n");
}

function curve(records: MetricRecord[], type: string, key: string) {
  const pts = records.filter((r) => r.type === type && typeof r[key] === "number");
  return { x: pts.map((r) => r.step), y: pts.map((r) => r[key] as number) };
}

/** Runs whose curves share a chart, each with its legend name and colour. */
interface RunGroup {
  title?: string;
  runs: { dir: string; name: string; color?: string }[];
}

/** A suite's table rows in table order, each with the name its curves and grids carry. */
function suiteRows(results: SuiteResults): Map<string, string> {
  const models = new Set(results.runs.map((r) => r.model));
  return new Map(results.runs.map((r) => [r.row, models.size > 1 ? `${r.model}: ${r.label}` : r.label]));
}

/**
 * One chart group per suite, its runs named and coloured by table row (so the seeds of a row share a colour and
 * one legend entry), then one for the run folders that belong to no suite.
 */
function runGroups(found: Found, name: (run: string) => string): RunGroup[] {
  const inSuite = new Set<string>();
  const groups: RunGroup[] = found.suites.map(({ dir, results }) => {
    const rows = suiteRows(results);
    const runs = found.runs.flatMap((run) => {
      if (dirname(run) !== join(dir, "runs")) return [];
      const row = runRow(basename(run));
      if (!rows.has(row)) rows.set(row, row); // a row still training, not in results.json yet
      inSuite.add(run);
      const i = [...rows.keys()].indexOf(row);
      return [{ dir: run, name: rows.get(row)!, color: PALETTE[i % PALETTE.length]!, i }];
    });
    runs.sort((a, b) => a.i - b.i); // legend entries in table order
    return { title: suiteTitle(results), runs };
  });
  groups.push({ runs: found.runs.filter((r) => !inSuite.has(r)).map((r) => ({ dir: r, name: name(r) })) });
  return groups.filter((g) => g.runs.length);
}

/** Training loss and every test metric over steps (for VQ, the VQ-VAE's and the prior's), for a group of runs. */
function groupCharts(group: RunGroup, metrics: Map<string, MetricRecord[]>): ReportChart[] {
  const heading = (what: string) => (group.title ? `${what}: ${group.title}` : what);
  const chart = (what: string, type: string, key: string): ReportChart[] => {
    const series = group.runs
      .map((r) => ({ name: r.name, color: r.color, ...curve(metrics.get(r.dir)!, type, key) }))
      .filter((s) => s.x.length);
    return series.length
      ? [{ title: heading(what), chart: { series, xLabel: "step", yLabel: key, title: what.toLowerCase() } }]
      : [];
  };
  const evalKeys = new Set<string>();
  for (const r of group.runs)
    for (const m of metrics.get(r.dir)!)
      if (m.type === "eval")
        for (const [k, v] of Object.entries(m))
          if (typeof v === "number" && k !== "step" && k !== "time") evalKeys.add(k);
  return [
    ...chart("Training loss", "train", "loss"),
    ...[...evalKeys].flatMap((key) => chart(`Test ${key}`, "eval", key)),
  ];
}

/** Newest file matching `ext` in a run's samples folder (step-numbered names sort in time order). */
function latest(run: string, ext: string): string | null {
  const dir = join(run, "samples");
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .sort();
  return files.length ? join(dir, files[files.length - 1]!) : null;
}

export function reportData(found: Found, root: string, title = "lastframe report"): ReportData {
  const name = (run: string) => relative(root, run) || basename(run);
  const tables: ReportTable[] = found.suites.map(({ dir, results }) => ({
    title: suiteTitle(results),
    caption: [`${relative(root, dir) || dir} — ${hardwareNote(results)}`, reuseNote(results)]
      .filter(Boolean)
      .join(". "),
    ...suiteTable(results),
  }));
  const metrics = new Map(found.runs.map((r) => [r, readMetrics(r)]));
  const charts = runGroups(found, name).flatMap((g) => groupCharts(g, metrics));
  const galleries: ReportGallery[] = [];
  const images = found.runs.flatMap((r) => {
    const out = [];
    for (const ext of [".png", ".gif"]) {
      const f = latest(r, ext);
      if (f) out.push({ data: readFileSync(f), caption: `${name(r)}: ${basename(f)}` });
    }
    const preview = join(r, "pseudo-videos.gif");
    if (existsSync(preview))
      out.push({ data: readFileSync(preview), caption: `${name(r)}: training pseudo videos` });
    return out;
  });
  for (const { dir, results } of found.suites) {
    const grids = join(dir, "samples");
    if (!existsSync(grids)) continue;
    const rows = suiteRows(results);
    const order = [...rows.keys()];
    const suiteImages = readdirSync(grids)
      .filter((f) => f.endsWith(".png"))
      .map((f) => basename(f, ".png"))
      .sort((a, b) => rank(order, a) - rank(order, b) || a.localeCompare(b))
      .map((row) => ({
        data: readFileSync(join(grids, `${row}.png`)),
        caption: `${row}: ${rows.get(row) ?? row}`,
      }));
    if (suiteImages.length)
      galleries.push({
        title: `Samples: ${suiteTitle(results)}`,
        description: `Each row's final grid of generated last frames, seed 0 (${relative(root, grids) || grids}).`,
        images: suiteImages,
      });
  }
  if (images.length)
    galleries.push({
      title: "Samples and pseudo videos",
      description: "Latest sample grid (generated last frames) and GIFs of each run.",
      images,
    });
  const runs: ReportRun[] = found.runs.map((r) => {
    const evalPath = join(r, "eval.json");
    return {
      name: name(r),
      config: {
        config: JSON.parse(readFileSync(join(r, "config.json"), "utf8")),
        eval: existsSync(evalPath) ? JSON.parse(readFileSync(evalPath, "utf8")) : undefined,
      },
    };
  });
  return {
    title,
    generatedAt: new Date(),
    summary: [`${found.suites.length} suite table(s) and ${found.runs.length} run(s) under ${root}.`],
    tables,
    charts,
    galleries,
    runs,
  };
}
