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
import { readEvalFile } from "../eval/eval-json.js";
import { budgets, suiteNames } from "./suites.js";
import { DataError } from "../errors.js";
import { type MetricRecord, readMetrics, readSavedConfig } from "../run/run.js";
import {
  type ReportChart,
  type ReportData,
  type ReportGallery,
  type ReportRun,
  type ReportTable,
  readableWidth,
} from "../report/html.js";
import { formatNumber } from "../report/markdown.js";
import { PALETTE, type Series } from "../report/svg.js";

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
 * too); none found is not an error here (`lastframe serve` waits for runs to appear). */
export function scanResults(paths: string[], maxDepth = 4): Found {
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
  return found;
}

/** {@link scanResults}, failing when nothing is found (a report of nothing is a mistake in the paths). */
export function findResults(paths: string[], maxDepth = 4): Found {
  const found = scanResults(paths, maxDepth);
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

/** A metric's points over steps; `frame` picks one entry of a per-frame list (frame_bpd: [frame 1, …, frame T]). */
function curve(records: MetricRecord[], type: string, key: string, frame?: number) {
  const value = (r: MetricRecord) => {
    const v = r[key];
    return frame === undefined ? v : Array.isArray(v) ? v[frame] : undefined;
  };
  const pts = records.filter((r) => r.type === type && typeof value(r) === "number");
  return { x: pts.map((r) => r.step), y: pts.map((r) => value(r) as number) };
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

/** Training loss and every test metric over steps (for VQ, the VQ-VAE's and the prior's), for a group of runs;
 * a per-frame metric gets one line per frame (a run's frames share its colour, all but the last dashed). */
function groupCharts(group: RunGroup, metrics: Map<string, MetricRecord[]>): ReportChart[] {
  const heading = (what: string) => (group.title ? `${what}: ${group.title}` : what);
  const chart = (what: string, key: string, series: Series[]): ReportChart[] => {
    const drawn = series.filter((s) => s.x!.length);
    return drawn.length
      ? [
          {
            title: heading(what),
            chart: { series: drawn, xLabel: "step", yLabel: key, title: what.toLowerCase() },
          },
        ]
      : [];
  };
  const line = (type: string, key: string) =>
    group.runs.map((r) => ({ name: r.name, color: r.color, ...curve(metrics.get(r.dir)!, type, key) }));
  const scalars = new Set<string>();
  const frames = new Map<string, number>(); // per-frame key → most frames seen
  for (const r of group.runs)
    for (const m of metrics.get(r.dir)!)
      if (m.type === "eval")
        for (const [k, v] of Object.entries(m)) {
          if (typeof v === "number" && k !== "step" && k !== "time" && k !== "frames_seen") scalars.add(k);
          if (Array.isArray(v)) frames.set(k, Math.max(frames.get(k) ?? 0, v.length));
        }
  const single = group.runs.length === 1;
  const perFrame = (key: string, t: number): Series[] =>
    group.runs.flatMap((r, i) =>
      Array.from({ length: t }, (_, f) => ({
        name: single ? `frame ${f + 1}` : `${r.name}: frame ${f + 1}`,
        color: single ? PALETTE[f % PALETTE.length] : (r.color ?? PALETTE[i % PALETTE.length]),
        dashed: !single && f < t - 1,
        ...curve(metrics.get(r.dir)!, "eval", key, f),
      })),
    );
  return [
    ...chart("Training loss", "loss", line("train", "loss")),
    ...[...scalars].flatMap((key) => chart(`Test ${key}`, key, line("eval", key))),
    ...[...frames].flatMap(([key, t]) => chart(`Test ${key} per frame`, key, perFrame(key, t))),
  ];
}

/**
 * A suite's learning curves from results.json (the runs that carry one, so no run folder is needed): each curve
 * metric against updates and against frames processed, a colour per table row shared by its seeds.
 */
function curveCharts(results: SuiteResults): ReportChart[] {
  const rows = suiteRows(results);
  const order = [...rows.keys()];
  const runs = results.runs.filter((r) => r.curve?.length);
  const charts: ReportChart[] = [];
  for (const key of ["last_bpd_given_true", "fd"] as const)
    for (const [axis, label] of [
      ["step", "updates"],
      ["frames", "frames processed"],
    ] as const) {
      const series = runs
        .map((r) => {
          const pts = r.curve!.filter((p) => typeof p[key] === "number");
          const color = PALETTE[order.indexOf(r.row) % PALETTE.length]!;
          return { name: rows.get(r.row)!, color, x: pts.map((p) => p[axis]), y: pts.map((p) => p[key]!) };
        })
        .filter((x) => x.x.length);
      if (series.length)
        charts.push({
          title: `Learning curve, test ${key} against ${label}: ${suiteTitle(results)}`,
          chart: { series, xLabel: label, yLabel: key, title: `test ${key}` },
        });
    }
  return charts;
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

/** What a run folder says it was (config.json) and what came out (its last metrics record, eval.json). */
export interface RunSummary {
  model?: string;
  preset?: string;
  data?: string;
  spec?: string;
  frames?: number;
  /** The last step recorded, and the training seconds it was reached in. */
  step?: number;
  seconds?: number;
  /** eval.json's headline numbers: fd, kid (its mean), precision, recall, bpd (of the last frame given the true
   * frames before it), bpd of each frame. */
  eval?: {
    fd?: number;
    kid?: number;
    precision?: number;
    recall?: number;
    bpd?: number;
    frameBpd?: number[];
    n?: number;
    refN?: number;
  };
}

/** A run folder's summary from its config.json and eval.json, both checked against their schemas (a bad file is
 * a CheckpointError or DataError naming the file and key). */
export function summarizeRun(dir: string, records: MetricRecord[] = readMetrics(dir)): RunSummary {
  const cfg = readSavedConfig(join(dir, "config.json"));
  const last = records.filter((r) => r.type === "train").at(-1);
  const evalPath = join(dir, "eval.json");
  const ev = existsSync(evalPath) ? readEvalFile(evalPath) : undefined;
  const bpd = ev?.bpd?.last_bpd_given_true;
  const frameBpd = ev?.bpd?.frame_bpd;
  return {
    model: cfg.model,
    preset: cfg.preset,
    data: cfg.data.name,
    spec: cfg.spec.name,
    frames: cfg.frames,
    step: last?.step,
    seconds: typeof last?.time === "number" ? last.time : undefined,
    eval: ev && {
      fd: ev.fd,
      kid: ev.kid?.mean,
      precision: ev.pr?.precision,
      recall: ev.pr?.recall,
      bpd: typeof bpd === "number" ? bpd : undefined,
      frameBpd: Array.isArray(frameBpd) ? frameBpd : undefined,
      n: ev.n,
      refN: ev.refN,
    },
  };
}

const fmt = (v: number) => formatNumber(v, 4);

/** One sentence: what ran and what came out. */
function describeRun(name: string, s: RunSummary): string {
  const what = [
    s.model && `${s.model}${s.preset ? ` (${s.preset})` : ""}`,
    s.data && `on ${s.data}`,
    s.spec && `${s.spec} pseudo videos`,
    s.frames !== undefined && `T = ${s.frames}`,
    s.step !== undefined &&
      `${s.step} steps${s.seconds !== undefined ? ` in ${Math.round(s.seconds)} s` : ""}`,
  ].filter(Boolean);
  const e = s.eval;
  const scores = e
    ? [
        e.fd !== undefined && `FD ${fmt(e.fd)}`,
        e.kid !== undefined && `KID ${fmt(e.kid)}`,
        e.precision !== undefined && `precision ${fmt(e.precision)}`,
        e.recall !== undefined && `recall ${fmt(e.recall)}`,
        e.bpd !== undefined && `${fmt(e.bpd)} bits/dim`,
      ].filter(Boolean)
    : [];
  const against = e?.n ? ` (eval.json: ${e.n} generated vs ${e.refN} test images)` : "";
  return `${name}: ${what.join(", ")}${scores.length ? `; ${scores.join(", ")}${against}` : "; not evaluated"}.`;
}

const EVAL_COLUMNS = [
  "run",
  "model",
  "data",
  "spec",
  "T",
  "steps",
  "train s",
  "FD",
  "KID",
  "precision",
  "recall",
];

/** Every run's configuration and eval.json numbers, one row each. */
function runTable(names: string[], summaries: RunSummary[]): ReportTable {
  return {
    title: "Runs",
    caption:
      "Each run's last eval.json (lastframe eval): FD, KID, precision and recall in the data set's feature-net space; " +
      "bpd of the last frame given the true frames before it, and of each frame 1 … T.",
    columns: [...EVAL_COLUMNS, "bpd", "bpd per frame"],
    rows: summaries.map((s, i) => [
      names[i]!,
      s.model,
      s.data,
      s.spec,
      s.frames,
      s.step,
      s.seconds === undefined ? undefined : Math.round(s.seconds),
      s.eval?.fd,
      s.eval?.kid,
      s.eval?.precision,
      s.eval?.recall,
      s.eval?.bpd,
      s.eval?.frameBpd?.map(fmt).join(" · "),
    ]),
  };
}

/** A run's pictures, each with a label: its final samples (samples.png, or while it trains the newest grid of
 * samples/), the generated videos and the training pseudo videos (GIFs). */
export function runMedia(run: string, s: RunSummary): { file: string; caption: string }[] {
  const out = [];
  const final = join(run, "samples.png");
  const grid = existsSync(final) ? final : latest(run, ".png");
  if (grid)
    out.push({
      file: grid,
      caption:
        grid === final ? "samples.png: final samples (last frames)" : `latest sample grid: ${basename(grid)}`,
    });
  const T = s.frames === undefined ? "" : `T = ${s.frames}`;
  const videos = join(run, "generated-videos.gif");
  if (existsSync(videos))
    out.push({
      file: videos,
      caption: `generated-videos.gif: generated videos${T && ` (${T})`}, the last frame is the sample`,
    });
  const pseudo = join(run, "pseudo-videos.gif");
  if (existsSync(pseudo)) {
    const what = [s.spec, T].filter(Boolean).join(", ");
    out.push({ file: pseudo, caption: `pseudo-videos.gif: training pseudo videos${what && ` (${what})`}` });
  }
  return out;
}

function runGallery(run: string, name: string, s: RunSummary): ReportGallery | null {
  const images = runMedia(run, s).map(({ file, caption }) => {
    const data = readFileSync(file);
    return { data, caption, width: readableWidth(data) };
  });
  return images.length ? { title: `Samples: ${name}`, images } : null;
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
  const summaries = found.runs.map((r) => summarizeRun(r, metrics.get(r)));
  const names = found.runs.map(name);
  if (found.runs.length) tables.push(runTable(names, summaries));
  const charts = [
    ...runGroups(found, name).flatMap((g) => groupCharts(g, metrics)),
    ...found.suites.flatMap((s) => curveCharts(s.results)),
  ];
  const galleries: ReportGallery[] = [];
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
  found.runs.forEach((r, i) => {
    const g = runGallery(r, names[i]!, summaries[i]!);
    if (g) galleries.push(g);
  });
  const runs: ReportRun[] = found.runs.map((r, i) => {
    const evalPath = join(r, "eval.json");
    return {
      name: names[i]!,
      config: {
        config: readSavedConfig(join(r, "config.json")),
        eval: existsSync(evalPath) ? readEvalFile(evalPath) : undefined,
      },
    };
  });
  const only = found.runs.length === 1 ? summaries[0]! : undefined;
  const facts =
    only &&
    [
      { label: "Model", value: only.model && `${only.model}${only.preset ? ` (${only.preset})` : ""}` },
      { label: "Data", value: only.data },
      { label: "Pseudo videos", value: only.spec },
      { label: "T", value: only.frames },
      { label: "Steps", value: only.step },
      {
        label: "Training time (s)",
        value: only.seconds === undefined ? undefined : Math.round(only.seconds),
      },
      { label: "FD", value: only.eval?.fd },
      { label: "KID", value: only.eval?.kid },
      { label: "Precision", value: only.eval?.precision },
      { label: "Recall", value: only.eval?.recall },
      { label: "Bits/dim", value: only.eval?.bpd },
    ].filter((f) => f.value !== undefined);
  const counted = [
    found.suites.length && `${found.suites.length} suite table(s)`,
    found.runs.length && `${found.runs.length} run(s)`,
  ].filter(Boolean);
  return {
    title,
    generatedAt: new Date(),
    summary: [
      `${counted.join(" and ")} under ${root}.`,
      ...summaries.map((s, i) => describeRun(names[i]!, s)),
    ],
    facts,
    tables,
    charts,
    galleries,
    runs,
  };
}
