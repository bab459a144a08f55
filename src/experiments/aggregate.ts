// Turns per-run results into a suite's table: one row per configuration, mean ± std over seeds.
import { aggregate, formatMeanStd, markdownTable } from "../report/markdown.js";
import { type PairedDifference, bootstrapMean, formatInterval, pairedDifferences } from "./paired.js";
import { baselineRows, defaultFramesSpec } from "./suites.js";

/** One trained and evaluated run of a suite row. */
export interface RunResult {
  row: string;
  label: string;
  model: string;
  spec: string;
  frames: number;
  seed: number;
  steps: number;
  batch: number;
  /** Frames processed in training: steps × batch × T (the budget other than updates). */
  framesSeen: number;
  trainSeconds: number;
  imagesPerSecond: number;
  metrics: Record<string, number>;
  /** configFingerprint of the run's config: what a resumed suite checks it would still train (absent in older results). */
  config?: string;
  /** Id of the feature net FD, KID, precision and recall were measured with (absent in older results). */
  featnet?: string;
  /** The results folder of another suite this run was taken from (`--reuse`), not trained for this one. */
  reusedFrom?: string;
  /** The machine that finished training it (absent in older results: their suite's `hardware`). */
  hardware?: string;
  /** sha256 prefix of the weights it started from (a shared tokenizer, a warm start), if any. */
  init?: string;
  /** Learning curve: the run's test evaluations of its last stage (absent in older results). */
  curve?: CurvePoint[];
}

/**
 * One evaluation during training: updates and frames processed so far in the run's last stage (steps × batch × T,
 * the compute axis), the test set's last_bpd_given_true (the image's bits given true earlier frames; bits per code
 * for the VQ prior) and, where the suite measured it (`--curves N`), FD of N samples (curveFd in eval/curve.ts).
 */
export interface CurvePoint {
  step: number;
  frames: number;
  last_bpd_given_true?: number;
  fd?: number;
}

/** A run's folder name under <suite>/runs: its table row and seed. */
export const runName = (row: string, seed: number) => `${row}-s${seed}`;

/** The table row of a run folder's name (the inverse of runName, seed dropped). */
export const runRow = (name: string) => name.replace(/-s\d+$/, "");

export interface SuiteResults {
  suite: string;
  data: string;
  budget: string;
  seeds: number[];
  /** The machine of the invocation that last wrote the file (a suite resumed across sessions may span several). */
  hardware: string;
  /** Runs the suite plans (rows × seeds); older results files lack it and count the rows they hold. */
  planned?: number;
  runs: RunResult[];
  /** compare: every row's paired per-seed FD difference to the baselines, with bootstrap intervals. */
  paired?: PairedDifference[];
}

/** Metrics shown in tables, in order, with their direction (for the reader) and digits. */
export const metricColumns: { key: string; title: string; digits: number }[] = [
  { key: "fd", title: "FD ↓", digits: 2 },
  { key: "kid", title: "KID ↓", digits: 3 },
  { key: "precision", title: "precision ↑", digits: 3 },
  { key: "recall", title: "recall ↑", digits: 3 },
  { key: "bpd", title: "bits/dim ↓", digits: 3 },
  { key: "last_bpd_given_true", title: "last frame bits ↓ (true earlier frames)", digits: 3 },
  { key: "last_bpd_generated", title: "last frame bits, own earlier frames (1-draw bound) ↓", digits: 3 },
  { key: "fd_context_mean", title: "FD, context from the mean ↓", digits: 2 },
  {
    key: "last_bpd_generated_context_mean",
    title: "last frame bits, own earlier frames, context from the mean ↓",
    digits: 3,
  },
  { key: "fid", title: "FID ↓", digits: 2 },
  { key: "probe", title: "linear probe acc ↑", digits: 3 },
];

/** The exposure suite's within-run pairing: FD with context from the mean minus FD with context from draws. */
export const CONTEXT_PAIRING = "context from drawn pixels";

/**
 * The paired FD differences of a suite with baselines (compare, warmstart, exposure): each row against each
 * baseline row of its family; for exposure also each run's FD with context from the mean against its own FD.
 */
export function suitePaired(res: SuiteResults): PairedDifference[] {
  const models = [...new Set(res.runs.map((r) => r.model))];
  return models.flatMap((m) => {
    const runs = res.runs.filter((r) => r.model === m);
    const between = baselineRows(res.suite, m).flatMap((base) => pairedDifferences(runs, base, "fd"));
    if (res.suite !== "exposure") return between;
    const within = [...new Set(runs.map((r) => r.row))].flatMap((row) => {
      const diffs = runs
        .filter((r) => r.row === row && Number.isFinite(r.metrics.fd_context_mean))
        .map((r) => r.metrics.fd_context_mean! - r.metrics.fd!);
      return diffs.length
        ? [{ row, against: CONTEXT_PAIRING, metric: "fd_context_mean", ...bootstrapMean(diffs) }]
        : [];
    });
    return [...between, ...within];
  });
}

export function suiteTable(res: SuiteResults): { columns: string[]; rows: (string | number)[][] } {
  const flat = res.runs.map((r) => ({
    row: r.row,
    ...r.metrics,
    frames_seen: r.framesSeen,
    train_s: r.trainSeconds,
    images_per_s: r.imagesPerSecond,
  }));
  const present = metricColumns.filter((m) => res.runs.some((r) => Number.isFinite(r.metrics[m.key])));
  const agg = aggregate(
    flat,
    ["row"],
    [...present.map((m) => m.key), "frames_seen", "train_s", "images_per_s"],
  );
  const labels = new Map(res.runs.map((r) => [r.row, r]));
  const paired = suitePaired(res);
  const against = [...new Set(paired.map((p) => p.against))];
  const pairedCell = (row: string, base: string) => {
    const d = paired.find((p) => p.row === row && p.against === base);
    return d ? formatInterval(d, 1) : "—";
  };
  const columns = [
    "model",
    "configuration",
    ...present.map((m) => m.title),
    ...against.map((b) =>
      b === CONTEXT_PAIRING ? "ΔFD, context from the mean − drawn [95% CI]" : `ΔFD vs ${b} [95% CI]`,
    ),
    "frames seen",
    "train time",
    "images/s",
    "seeds",
  ];
  const rows = agg.map((g) => {
    const r = labels.get(String(g.group.row))!;
    const m = g.metrics;
    return [
      r.model,
      r.label,
      ...present.map((c) => formatMeanStd(m[c.key]!, c.digits)),
      ...against.map((b) => pairedCell(String(g.group.row), b)),
      String(Math.round(m.frames_seen!.mean)),
      `${(m.train_s!.mean / 60).toFixed(1)} min`,
      m.images_per_s!.mean.toFixed(0),
      String(g.count),
    ];
  });
  return { columns, rows };
}

/** The model families a suite's runs train, in order of first appearance: "hvae,vqvae". */
const families = (res: SuiteResults) => [...new Set(res.runs.map((r) => r.model))].join(",");

/** A suite table's heading, the same in Markdown and in the HTML report. */
export const suiteTitle = (res: SuiteResults) =>
  `${res.suite} on ${res.data}, ${families(res)} (${res.budget} budget, seeds ${res.seeds.join(", ")})`;

/** The folders runs were reused from, in order of first appearance. */
const reusedFrom = (res: SuiteResults) => [...new Set(res.runs.flatMap((r) => r.reusedFrom ?? []))];

/** Which runs another suite trained (`--reuse`), in a sentence; "" when this suite trained them all. */
export function reuseNote(res: SuiteResults): string {
  const reused = res.runs.filter((r) => r.reusedFrom).length;
  if (!reused) return "";
  return (
    `${reused} of these runs were trained for ${reusedFrom(res).join(", ")} (same row, seed and budget) and are ` +
    `taken from there, not trained again`
  );
}

/** The --spec of a frames suite whose video rows use another spec than the default (one per family: best). */
function framesSpecFlag(res: SuiteResults): string {
  if (res.suite !== "frames") return "";
  const specs = [...new Set(res.runs.filter((r) => r.frames > 1).map((r) => r.spec))];
  if (specs.length > 1) return " --spec best";
  return specs.length && specs[0] !== defaultFramesSpec ? ` --spec ${specs[0]}` : "";
}

/** compare's VQ rows each with a VQ-VAE of their own (no shared tokenizer to start from). */
const tokenizerFlag = (res: SuiteResults) =>
  res.suite === "compare" && res.runs.some((r) => r.model === "vqvae" && r.init === undefined)
    ? " --tokenizer per-row"
    : "";

/** The command that makes (or resumes) a suite's results in `dir`. */
export function suiteCommand(res: SuiteResults, dir: string): string {
  const models = families(res);
  const reuse = reusedFrom(res);
  return (
    `npx lastframe experiment ${res.suite} --data ${res.data} --preset ${res.budget} --seeds ${res.seeds.length}` +
    `${models ? ` --models ${models}` : ""}${framesSpecFlag(res)}${tokenizerFlag(res)}` +
    `${reuse.length ? ` --reuse ${reuse.join(",")}` : ""} --out ${dir}`
  );
}

/** Which feature net(s) scored the runs, where the results say. */
function featnetNote(res: SuiteResults): string {
  const ids = [...new Set(res.runs.flatMap((r) => (r.featnet ? [r.featnet] : [])))];
  if (ids.length === 0) return "";
  if (ids.length === 1) return ` (${ids[0]}, pinned in \`featnets/${res.data}\`)`;
  return ` (NOT ONE SPACE: runs were scored with nets ${ids.join(", ")}, so their rows do not compare)`;
}

/**
 * The machines a suite's runs were trained on: one name, or each with its number of runs, since images/s and
 * train time only compare between runs on the same machine.
 */
export function hardwareNote(res: SuiteResults): string {
  const counts = new Map<string, number>();
  for (const r of res.runs) {
    const h = r.hardware ?? res.hardware;
    counts.set(h, (counts.get(h) ?? 0) + 1);
  }
  if (counts.size <= 1) return [...counts.keys()][0] ?? res.hardware;
  return [...counts].map(([h, n]) => `${h} (${n} runs)`).join(", ");
}

/**
 * Whether the runs that start from other weights (the VQ rows' shared tokenizer) start, seed by seed, from one set:
 * "" when no run does.
 */
export function initNote(res: SuiteResults): string {
  const bySeed = new Map<number, Set<string>>();
  for (const r of res.runs)
    if (r.init) (bySeed.get(r.seed) ?? bySeed.set(r.seed, new Set()).get(r.seed)!).add(r.init);
  if (bySeed.size === 0) return "";
  const split = [...bySeed].filter(([, ids]) => ids.size > 1);
  const warm = res.suite === "warmstart";
  const what = warm ? "SOURCE RUN" : "TOKENIZER";
  const checked = [...bySeed].map(([s, ids]) => `seed ${s} ${[...ids][0]}`).join(", ");
  if (split.length)
    return `NOT ONE ${what} PER SEED: seed ${split.map(([s, ids]) => `${s} has ${[...ids].join(", ")}`).join("; ")}`;
  return warm
    ? `The warm-started rows of each seed start from that seed's image run (checked by checksum: ${checked})`
    : `The VQ rows of each seed start from one clean-image tokenizer (checked by checksum: ${checked}), so they differ only in the prior`;
}

export function suiteMarkdown(res: SuiteResults, dir: string): string {
  const { columns, rows } = suiteTable(res);
  const minutes =
    res.runs.reduce((a, r) => a + (Number.isFinite(r.trainSeconds) ? r.trainSeconds : 0), 0) / 60;
  // A suite still running (or stopped part-way) says how much of it the table covers.
  const planned = res.planned ?? new Set(res.runs.map((r) => r.row)).size * res.seeds.length;
  const done =
    res.runs.length < planned
      ? `${res.runs.length} of ${planned} runs (re-running the command finishes the rest)`
      : `${res.runs.length} runs`;
  const total = minutes < 120 ? `${minutes.toFixed(0)} min` : `${(minutes / 60).toFixed(1)} h`;
  const reuse = reuseNote(res);
  return [
    `### ${suiteTitle(res)}`,
    "",
    markdownTable(columns, rows),
    "",
    `Made by \`${suiteCommand(res, dir)}\` on ${hardwareNote(res)}: ${done}, ${total} of`,
    `training in all. Mean ± sample std over seeds; FD, KID, precision and recall are measured in the feature space`,
    `of lastframe's own ${res.data} feature network${featnetNote(res)}, so they compare rows of this table only.`,
    ...(reuse ? [`${reuse}; their training time is in the total above.`] : []),
    ...(initNote(res) ? [`${initNote(res)}.`] : []),
    "",
  ].join("\n");
}
