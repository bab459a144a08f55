// Runs a suite: for every row and seed, train (resuming where a previous session stopped), evaluate, and
// record; then aggregate. Everything lands in the suite's folder:
//   <out>/runs/<row>-s<seed>/   run folders (config, metrics.jsonl, checkpoints, samples, eval.json)
//   <out>/results.json          every run's numbers plus the suite's settings
//   <out>/results.md            the table, mean ± std over seeds
//   <out>/samples/<row>.png     each row's final sample grid (seed 0), small enough to commit beside the table
// A finished run is never trained again, so re-running the same command only does what is missing. Run folders
// hold checkpoints and stay out of git; results.json is committed, so a run it records counts as done even on a
// machine that no longer has its folder (the suite then goes on across sessions and machines).
//
// With jobs > 1, the runs still to do are trained in that many child processes (`--only <run>`), each with its
// share of the threads: on a few cores, small models train faster side by side than one at a time on all cores.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../data/index.js";
import { train } from "../train/loop.js";
import { readInitWeights } from "../train/init.js";
import { latestCheckpoint } from "../train/checkpoint.js";
import { curveFd } from "../eval/curve.js";
import { saveSafetensors } from "../nn/safetensors.js";
import { type RunInput, configFingerprint, resolveRunConfig } from "../train/config.js";
import { loadRunData } from "../train/data.js";
import { closeRun, openRun, readMetrics } from "../run/run.js";
import { linearProbe, probeOptions } from "./probe.js";
import { writeFileAtomic } from "../util/atomic.js";
import { type Budget, type Row, budgets, suiteRows } from "./suites.js";
import {
  type CurvePoint,
  type RunResult,
  type SuiteResults,
  runName,
  suiteMarkdown,
  suitePaired,
} from "./aggregate.js";
import {
  type PlannedRun,
  type Reusable,
  type ReusedSuite,
  bestSpecs,
  readReusedSuites,
  readSuiteResults,
  reusableRuns,
} from "./reuse.js";
import { presetNames } from "../video/index.js";
import { getFamily } from "../models/registry.js";
import { ArgumentError, DataError, expected } from "../errors.js";
import { dispose } from "../tensor/index.js";
import { type EvalReport, type MetricName, evaluate, writeReport } from "../eval/evaluate.js";
import { storedFeatNetInfo } from "../eval/featnet-train.js";
import { featnetDir } from "../eval/store.js";

export interface ExperimentOptions {
  suite: string;
  data: string;
  models: string[];
  budget: string;
  seeds: number;
  out: string;
  metrics: MetricName[];
  inceptionWeights?: string;
  /** Runs trained at once, in child processes (1: in this process). */
  jobs: number;
  /** Train and evaluate only this run (its folder name, e.g. "hvae-image-s0"), writing no table. */
  only?: string;
  /** Results folders of other suites on the same data and budget whose identical runs are taken, not retrained. */
  reuse?: string[];
  /** frames only: the spec it sweeps T for (a preset name, or "best": the best video row of a --reuse'd main). */
  spec?: string;
  /** compare only: the VQ rows' stage 1, one clean-image tokenizer per seed (default) or one per row. */
  tokenizer?: "shared" | "per-row";
  /** Learning curves: samples whose FD every evaluation during training logs (0 or absent: test bpd only). */
  curves?: number;
  output: "bar" | "quiet";
  log: (s: string) => void;
}

/**
 * Whether a run's row has bits/dim in the table. It is the image's likelihood only for image models (T = 1) of
 * a family that reports pixels' likelihood: a video model's per-frame bound conditions the last frame on
 * corrupted copies of it, which is not a likelihood of the image, so it is left out of the comparison (and
 * not evaluated: that took 2-3 min of a video HVAE run's 4-min evaluation).
 */
const hasBitsPerDim = (run: { model: string; frames: number }) =>
  run.frames === 1 && getFamily(run.model).bitsPerDim;

/**
 * Whether a suite scores every row's likelihood: the compare suite does, on the quantities that compare across its
 * rows (the last frame given the true earlier ones, and given the model's own; bits per code for the VQ family,
 * whose rows share a tokenizer).
 */
const scoresLikelihoods = (suite: string) => ["compare", "warmstart", "exposure"].includes(suite);

/** Whether a suite also evaluates every run with later frames' context from the likelihood's mean (exposure). */
const scoresContextMean = (suite: string) => suite === "exposure";

/** The table's numbers from an evaluation. */
function tableMetrics(
  r: EvalReport,
  run: { model: string; frames: number },
  suite: string,
): Record<string, number> {
  const m: Record<string, number> = {};
  if (scoresLikelihoods(suite))
    for (const k of ["last_bpd_given_true", "last_bpd_generated"] as const)
      if (typeof r.bpd?.[k] === "number") m[k] = r.bpd[k];
  if (r.fd !== undefined) m.fd = r.fd;
  if (r.kid) m.kid = r.kid.mean;
  if (r.pr) Object.assign(m, { precision: r.pr.precision, recall: r.pr.recall });
  if (r.fid) m.fid = r.fid.value;
  if (r.bpd?.bpd !== undefined && hasBitsPerDim(run)) m.bpd = r.bpd.bpd as number;
  return m;
}

/** The table's metric keys a run must have for the metrics asked for (plus the probe's). */
export function neededMetrics(
  metrics: MetricName[],
  run: { model: string; frames: number },
  suite: string,
): string[] {
  const keys: string[] = [];
  for (const m of metrics)
    if (m === "pr") keys.push("precision", "recall");
    else if (m !== "bpd" || hasBitsPerDim(run)) keys.push(m);
  if (suite === "probe") keys.push("probe");
  if (scoresLikelihoods(suite)) keys.push("last_bpd_given_true");
  if (scoresContextMean(suite)) keys.push("fd_context_mean");
  return keys;
}

/** Training time and mean throughput from a run's metrics.jsonl. */
function trainingTimes(dir: string): { seconds: number; imagesPerSecond: number } {
  const train = readMetrics(dir).filter((r) => r.type === "train");
  const last = train[train.length - 1];
  const ips = train.map((r) => r.images_per_s).filter((v): v is number => Number.isFinite(v));
  return {
    seconds: typeof last?.time === "number" ? last.time : NaN,
    imagesPerSecond: ips.length ? ips.reduce((a, b) => a + b, 0) / ips.length : NaN,
  };
}

/** Linear-probe accuracy of a finished run's frozen encoder, cached in probe.json. */
async function probeAccuracy(dir: string, budget: Budget): Promise<number> {
  const path = join(dir, "probe.json");
  if (existsSync(path)) return (JSON.parse(readFileSync(path, "utf8")) as { accuracy: number }).accuracy;
  const run = await openRun(dir);
  try {
    const data = await loadRunData(run.config);
    const o = probeOptions(budget.probeImages, run.config.data.pad);
    const accuracy = linearProbe(run.model, data, o);
    writeFileAtomic(path, JSON.stringify({ accuracy, ...o }, null, 2) + "\n");
    return accuracy;
  } finally {
    closeRun(run);
  }
}

const thisMachine = () => `${cpus().length} × ${cpus()[0]?.model.trim() ?? "CPU"}`;

/** Updates of a row (per stage): the budget's, times the row's factor. */
const rowSteps = (row: Row, budget: Budget) => budget.steps * (row.stepsFactor ?? 1);

/** The seed's shared tokenizer: a clean-image VQ-VAE's weights, in the suite folder (small; committed). */
export const tokenizerPath = (out: string, seed: number) =>
  join(out, "tokenizers", `vqvae-s${seed}.safetensors`);

/**
 * The run folder a warm-start row of `seed` starts from: this suite's run of the source row if it has a checkpoint,
 * else the first --reuse'd suite's that has (the source was taken from there), else this suite's (trained first).
 */
function warmSource(o: ExperimentOptions, row: Row, seed: number): string | undefined {
  if (row.warmFrom === undefined) return undefined;
  const name = runName(row.warmFrom, seed);
  const dirs = [o.out, ...(o.reuse ?? [])].map((d) => join(d, "runs", name));
  return dirs.find((d) => latestCheckpoint(d) !== null) ?? dirs[0]!;
}

/** What a suite row trains for one seed (`warm`: the run folder a warm-start row starts from). */
const runInput = (
  row: Row,
  seed: number,
  budget: Budget,
  data: string,
  out: string,
  warm?: string,
): RunInput => ({
  model: row.model,
  preset: budget.preset,
  ...(row.hps ? { hps: row.hps } : {}),
  data: { name: data, limit: budget.limit, ...(budget.validation ? { validation: budget.validation } : {}) },
  spec: row.spec,
  frames: row.frames,
  framesAsImages: row.framesAsImages ?? false,
  train: {
    seed,
    steps: rowSteps(row, budget),
    batch: budget.batch,
    ...(row.sharedTokenizer ? { stageSteps: { vqvae: 0 } } : {}),
    ...(budget.validation ? { selectBest: true } : {}),
  },
  ...(budget.evals ? { log: { evalEvery: Math.ceil(rowSteps(row, budget) / budget.evals) } } : {}),
  ...(row.sharedTokenizer ? { init: { from: tokenizerPath(out, seed), modules: ["vqvae."] } } : {}),
  ...(warm ? { init: { from: warm, modules: [] } } : {}),
});

/** The learning curve of a finished run: its evaluations in the last stage that logged the frames processed. */
function learningCurve(dir: string): CurvePoint[] {
  const evals = readMetrics(dir).filter((r) => r.type === "eval");
  const stage = evals[evals.length - 1]?.stage;
  return evals
    .filter((r) => r.stage === stage && typeof r.frames_seen === "number")
    .map((r) => ({
      step: r.step,
      frames: r.frames_seen as number,
      ...(typeof r.last_bpd_given_true === "number" ? { last_bpd_given_true: r.last_bpd_given_true } : {}),
      ...(typeof r.fd === "number" ? { fd: r.fd } : {}),
    }));
}

/**
 * Trains the seed's tokenizer if the suite folder lacks it: stage 1 of the image model (clean images, the
 * budget's updates) in runs/tokenizer-vqvae-s<seed>, whose EMA VQ-VAE weights are then written to tokenizers/.
 * Always in the parent process, before any child needs it. A tune (src/tune) shares one the same way.
 */
export async function ensureTokenizer(
  seed: number,
  budget: Pick<Budget, "preset" | "steps" | "batch" | "limit" | "validation">,
  o: Pick<ExperimentOptions, "out" | "data" | "output" | "log">,
): Promise<void> {
  const path = tokenizerPath(o.out, seed);
  if (existsSync(path)) return;
  const dir = join(o.out, "runs", `tokenizer-vqvae-s${seed}`);
  o.log(`tokenizer for seed ${seed}: a VQ-VAE on clean images, ${budget.steps} updates → ${path}`);
  const input: RunInput = {
    model: "vqvae",
    preset: budget.preset,
    // The rows' training images: the validation split stays unseen by the tokenizer too.
    data: {
      name: o.data,
      limit: budget.limit,
      ...(budget.validation ? { validation: budget.validation } : {}),
    },
    spec: "none",
    frames: 1,
    train: { seed, steps: budget.steps, batch: budget.batch, stageSteps: { prior: 0 } },
  };
  await train(input, dir, { resume: true, output: o.output, log: o.log });
  mkdirSync(join(o.out, "tokenizers"), { recursive: true });
  const weights = readInitWeights({ from: dir, modules: ["vqvae."], sha256: "" });
  try {
    saveSafetensors(path, weights, { source: `${dir}, EMA weights after ${budget.steps} updates` });
  } finally {
    dispose(weights);
  }
}

async function runRow(row: Row, seed: number, budget: Budget, o: ExperimentOptions): Promise<RunResult> {
  const dir = join(o.out, "runs", runName(row.key, seed));
  const evalPath = join(dir, "eval.json");
  if (row.sharedTokenizer) await ensureTokenizer(seed, budget, o);
  const warm = warmSource(o, row, seed);
  if (warm && !latestCheckpoint(warm) && !existsSync(join(dir, "config.json")))
    throw new ArgumentError(
      `${runName(row.key, seed)} starts from the trained run ${runName(row.warmFrom!, seed)}, which neither ` +
        `${join(o.out, "runs")} nor a --reuse folder's runs/ holds: train that row first`,
    );
  const curves = o.curves ? await curveFd(o.data, budget.limit, o.curves) : null;
  let result: Awaited<ReturnType<typeof train>>;
  try {
    result = await train(runInput(row, seed, budget, o.data, o.out, warm), dir, {
      resume: true,
      output: o.output,
      log: o.log,
      ...(curves ? { evalExtra: curves.extra } : {}),
    });
  } finally {
    curves?.dispose();
  }
  if (!result.finished) throw new Error(`run ${dir} stopped before its last step`);
  let report: EvalReport;
  if (existsSync(evalPath)) report = JSON.parse(readFileSync(evalPath, "utf8")) as EvalReport;
  else {
    report = await evaluate(dir, {
      metrics: scoresLikelihoods(o.suite)
        ? [...new Set([...o.metrics, "bpd" as const])]
        : o.metrics.filter((m) => m !== "bpd" || hasBitsPerDim(row)),
      n: budget.evalN,
      bpdImages: budget.evalN,
      inceptionWeights: o.inceptionWeights,
      progress: o.output === "bar",
      log: o.log,
    });
    writeReport(report, evalPath);
  }
  const metrics = tableMetrics(report, row, o.suite);
  if (o.suite === "probe") metrics.probe = await probeAccuracy(dir, budget);
  if (scoresContextMean(o.suite)) Object.assign(metrics, await contextMeanMetrics(dir, budget, o));
  const times = trainingTimes(dir);
  const curve = learningCurve(dir);
  return {
    row: row.key,
    label: row.label,
    model: row.model,
    spec: row.spec,
    frames: row.frames,
    seed,
    steps: rowSteps(row, budget),
    batch: budget.batch,
    framesSeen: rowSteps(row, budget) * budget.batch * row.frames,
    trainSeconds: times.seconds,
    imagesPerSecond: times.imagesPerSecond,
    metrics,
    config: configFingerprint(result.config),
    ...(result.config.init ? { init: result.config.init.sha256.slice(0, 12) } : {}),
    featnet: report.featnet?.id,
    hardware: thisMachine(),
    ...(curve.length ? { curve } : {}),
  };
}

/**
 * The exposure suite's second evaluation of a run (eval-context-mean.json): FD of samples and the one-draw bound
 * last_bpd_generated with every later frame's context built from the likelihood's mean instead of the drawn pixels.
 */
async function contextMeanMetrics(
  dir: string,
  budget: Budget,
  o: ExperimentOptions,
): Promise<Record<string, number>> {
  const path = join(dir, "eval-context-mean.json");
  let report: EvalReport;
  if (existsSync(path)) report = JSON.parse(readFileSync(path, "utf8")) as EvalReport;
  else {
    report = await evaluate(dir, {
      metrics: ["fd", "bpd"],
      n: budget.evalN,
      bpdImages: budget.evalN,
      context: "mean",
      progress: o.output === "bar",
      log: o.log,
    });
    writeReport(report, path);
  }
  const m: Record<string, number> = {};
  if (report.fd !== undefined) m.fd_context_mean = report.fd;
  const generated = report.bpd?.last_bpd_generated;
  if (typeof generated === "number") m.last_bpd_generated_context_mean = generated;
  return m;
}

/** Names for an error message: all of them, or the first four and how many there are. */
const listNames = (names: string[]) =>
  names.length > 4 ? `${names.slice(0, 4).join(", ")}, … (${names.length} in all)` : names.join(", ");

/**
 * The runs an earlier invocation recorded in <out>/results.json, by run name, when that file describes this same
 * suite, data and budget (a run's record is reused only if its steps and batch also match). A record whose config
 * fingerprint differs from what this suite would train for it now (a preset changed since) is refused: its
 * numbers would sit in the table under a row that no longer trains that way.
 */
function recordedRuns(o: ExperimentOptions, budget: Budget, planned: PlannedRun[]): Map<string, RunResult> {
  const path = join(o.out, "results.json");
  const recorded = new Map<string, RunResult>();
  if (!existsSync(path)) return recorded;
  const prev = readSuiteResults(path);
  if (prev.suite !== o.suite || prev.data !== o.data || prev.budget !== o.budget)
    throw new ArgumentError(
      `${path} holds suite ${prev.suite} on ${prev.data} at the ${prev.budget} budget, not ${o.suite} on ` +
        `${o.data} at ${o.budget}: choose another --out`,
    );
  const configs = new Map(planned.map((p) => [p.name, p.config]));
  const stale: string[] = [];
  const rowsByName = new Map(planned.map((p) => [p.name, p.row]));
  for (const r of prev.runs ?? []) {
    const name = runName(r.row, r.seed);
    const row = rowsByName.get(name);
    if (r.steps !== (row ? rowSteps(row, budget) : budget.steps) || r.batch !== budget.batch) continue;
    const now = configs.get(name);
    if (r.config !== undefined && now !== undefined && r.config !== now) stale.push(name);
    recorded.set(name, r);
  }
  if (stale.length)
    throw new ArgumentError(
      `${path} records runs trained with another config than this suite now gives them (${listNames(stale)}): ` +
        `a preset or default changed since. To train them again, delete their records there and their folders ` +
        `under ${join(o.out, "runs")}; or choose another --out`,
    );
  return recorded;
}

/**
 * Another suite's record of a run, if it has every number this suite's table needs. A missing probe accuracy or
 * context-from-the-mean evaluation is measured on the other suite's run folder when that is here (they need the
 * checkpoint, not training).
 */
async function takeReused(
  { result, from }: Reusable,
  o: ExperimentOptions,
  budget: Budget,
): Promise<RunResult | undefined> {
  const metrics = { ...result.metrics };
  const dir = join(from, "runs", runName(result.row, result.seed));
  if (o.suite === "probe" && metrics.probe === undefined && existsSync(join(dir, "eval.json")))
    metrics.probe = await probeAccuracy(dir, budget);
  // Likewise exposure's second evaluation (context from the mean) of a compare run.
  if (
    scoresContextMean(o.suite) &&
    metrics.fd_context_mean === undefined &&
    existsSync(join(dir, "eval.json"))
  )
    Object.assign(metrics, await contextMeanMetrics(dir, budget, o));
  const complete = neededMetrics(o.metrics, result, o.suite).every((k) => Number.isFinite(metrics[k]));
  return complete ? { ...result, metrics, reusedFrom: from } : undefined;
}

const bin = join(repoRoot(), "bin", "lastframe.js");

/**
 * Child processes training now. `kill <parent>` must not leave them training without a parent to record them
 * (Ctrl-C in a terminal reaches the whole process group; a signal sent to the parent's pid alone does not).
 */
const children = new Set<ChildProcess>();
const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
function forwardSignal(signal: NodeJS.Signals): void {
  for (const child of children) child.kill(signal);
  process.removeListener(signal, forwardSignal);
  process.kill(process.pid, signal);
}

/** Trains and evaluates one run in a child process (`experiment --only`), with `threads` threads. */
function runInChild(name: string, threads: number, o: ExperimentOptions): Promise<void> {
  const args = ["experiment", o.suite, "--only", name, "--data", o.data, "--preset", o.budget];
  args.push("--models", o.models.join(","), "--seeds", String(o.seeds), "--out", o.out);
  args.push("--metrics", o.metrics.join(","), "--quiet");
  // The child plans the same rows: "--spec best" resolves from the same --reuse'd table.
  if (o.spec !== undefined) args.push("--spec", o.spec);
  if (o.tokenizer !== undefined) args.push("--tokenizer", o.tokenizer);
  if (o.curves) args.push("--curves", String(o.curves));
  if (o.reuse?.length) args.push("--reuse", o.reuse.join(","));
  if (o.inceptionWeights) args.push("--inception-weights", o.inceptionWeights);
  return runChild(args, threads, name, o.log);
}

/**
 * Runs `lastframe <args>` in a child process with `threads` threads, its stderr lines logged under `name`; stopping
 * this process stops it too. Rejects with a DataError for a user-facing error (exit 2, already explained in the
 * child's last line: no stack trace here), else with an Error carrying the child's last output.
 */
export function runChild(
  args: string[],
  threads: number,
  name: string,
  log: (s: string) => void,
): Promise<void> {
  const env = { ...process.env, LASTFRAME_THREADS: String(threads) };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
    children.add(child);
    if (children.size === 1) for (const s of signals) process.on(s, forwardSignal);
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      const text = d.toString();
      err = (err + text).slice(-4000);
      for (const line of text.split("\n").filter(Boolean)) log(`  ${name}: ${line}`);
    });
    child.on("error", reject);
    child.on("close", (code) => {
      children.delete(child);
      if (children.size === 0) for (const s of signals) process.removeListener(s, forwardSignal);
      if (code === 0) resolve();
      else if (code === 2) reject(new DataError(`run ${name} stopped: ${err.trim().split("\n").pop()}`));
      else reject(new Error(`run ${name} failed (exit ${code}): ${err.trim()}`));
    });
  });
}

/**
 * Refuses a plan that would drop recorded runs from the table (another --models, fewer --seeds, another --spec):
 * the table is rewritten from the plan, so those finished runs would silently vanish from it.
 */
function checkPlanCovers(o: ExperimentOptions, recorded: string[], planned: { name: string }[]): void {
  const names = new Set(planned.map((p) => p.name));
  const dropped = recorded.filter((name) => !names.has(name));
  if (dropped.length === 0) return;
  throw new ArgumentError(
    `${join(o.out, "results.json")} records runs this command does not plan (${listNames(dropped)}): they were made with other ` +
      `--models, --seeds or --spec. Repeat those options, or choose another --out`,
  );
}

/**
 * Refuses to add runs scored in another feature space than the recorded ones: a machine that retrained the feature
 * net (or lacks the pinned one) would put incomparable numbers in one table.
 */
function checkFeatnet(o: ExperimentOptions, recorded: RunResult[]): void {
  if (!o.metrics.some((m) => m === "fd" || m === "kid" || m === "pr")) return;
  const ids = new Set(recorded.flatMap((r) => (r.featnet ? [r.featnet] : [])));
  if (ids.size === 0) return;
  const current = storedFeatNetInfo(o.data)?.id;
  if (current !== undefined && ids.has(current) && ids.size === 1) return;
  throw new ArgumentError(
    `${join(o.out, "results.json")} holds runs scored with the ${o.data} feature net ${[...ids].join(", ")}, but ` +
      `${current ? `this machine's is ${current}` : "this machine has none"}: new runs would not compare with them. ` +
      `Use the pinned net (git checkout featnets/${o.data}, and remove ${featnetDir(o.data)} if you retrained it), ` +
      `or choose another --out`,
  );
}

/**
 * Copies a run's final grid of generated last frames to <out>/samples/<row>.png (if its folder is here, or, for a
 * reused run, the grid its own suite kept).
 */
function keepSampleGrid(out: string, name: string, row: Row, reusedFrom?: string): void {
  const kept = reusedFrom && join(reusedFrom, "samples", `${row.key}.png`);
  if (kept && existsSync(kept)) {
    mkdirSync(join(out, "samples"), { recursive: true });
    writeFileAtomic(join(out, "samples", `${row.key}.png`), readFileSync(kept));
    return;
  }
  const dir = join(reusedFrom ?? out, "runs", name, "samples");
  if (!existsSync(dir)) return;
  const grids = readdirSync(dir)
    .filter((f) => /^step-\d+\.png$/.test(f))
    .sort();
  const last = grids[grids.length - 1];
  if (last) {
    mkdirSync(join(out, "samples"), { recursive: true });
    writeFileAtomic(join(out, "samples", `${row.key}.png`), readFileSync(join(dir, last)));
  }
}

/**
 * Runs `names` in `jobs` child processes at a time, sharing this process's threads between them, and calls
 * `finished` with each run's name as soon as its child is done.
 */
async function runInChildren(
  names: string[],
  o: ExperimentOptions,
  finished: (name: string) => Promise<void>,
): Promise<void> {
  const threads = Number(process.env.LASTFRAME_THREADS) || availableParallelism();
  const perChild = Math.max(1, Math.floor(threads / o.jobs));
  o.log(`${names.length} runs to do, ${o.jobs} at a time, ${perChild} thread(s) each`);
  const queue = [...names];
  const failures: Error[] = [];
  const lane = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift())
      await runInChild(name, perChild, o).then(
        () => finished(name),
        (e: Error) => void failures.push(e),
      );
  };
  await Promise.all(Array.from({ length: Math.min(o.jobs, names.length) }, lane));
  if (failures.length > 1)
    o.log(`${failures.length} runs did not finish:\n${failures.map((e) => `  ${e.message}`).join("\n")}`);
  if (failures.length) throw failures[0]!;
}

/** The spec per model family that the frames suite sweeps T for. */
function framesSpecs(o: ExperimentOptions, reused: ReusedSuite[]): ((model: string) => string) | undefined {
  if (o.spec === undefined) return undefined;
  if (o.suite !== "frames")
    throw new ArgumentError(
      `--spec applies to the frames suite (the spec whose number of frames it sweeps), not to ${o.suite}`,
    );
  if (o.spec === "best") {
    const best = bestSpecs(reused, o.models, o.log);
    return (model) => best.get(model)!;
  }
  if (!presetNames.includes(o.spec) || o.spec === "none")
    throw new ArgumentError(
      `Unknown spec ${JSON.stringify(o.spec)} for --spec. Valid: best, ${presetNames.filter((p) => p !== "none").join(", ")}`,
    );
  return () => o.spec!;
}

/** Every run of the suite: its rows for each seed, with the config fingerprint a recorded run must match. */
function planRuns(o: ExperimentOptions, budget: Budget, reused: ReusedSuite[]): PlannedRun[] {
  if (o.tokenizer !== undefined && o.suite !== "compare")
    throw new ArgumentError(
      `--tokenizer applies to the compare suite (its VQ rows' stage 1), not to ${o.suite}`,
    );
  const rows = suiteRows(o.suite, o.models, framesSpecs(o, reused), o.tokenizer);
  return [...Array(o.seeds).keys()].flatMap((seed) =>
    rows.map((row) => ({
      row,
      seed,
      name: runName(row.key, seed),
      config: configFingerprint(
        resolveRunConfig(runInput(row, seed, budget, o.data, o.out, warmSource(o, row, seed))),
      ),
    })),
  );
}

/** The runs already done: recorded in this suite's results.json, or taken from --reuse suites. */
async function gatherRecorded(
  o: ExperimentOptions,
  budget: Budget,
  planned: PlannedRun[],
  reused: ReusedSuite[],
): Promise<Map<string, RunResult>> {
  const recorded = recordedRuns(o, budget, planned);
  checkPlanCovers(o, [...recorded.keys()], planned);
  // Only runs that neither this suite has nor --only asks for are taken from elsewhere.
  const reusable = reusableRuns(reused, budget, planned);
  for (const p of planned) {
    const other = reusable.get(p.name);
    if (recorded.has(p.name) || !other || o.only !== undefined) continue;
    if (existsSync(join(o.out, "runs", p.name, "config.json"))) continue;
    const taken = await takeReused(other, o, budget);
    if (taken) recorded.set(p.name, taken);
  }
  checkFeatnet(o, [...recorded.values()]);
  return recorded;
}

export async function runSuite(o: ExperimentOptions): Promise<SuiteResults> {
  const budget = budgets[o.budget];
  if (!budget) throw expected(`one of ${Object.keys(budgets).join(", ")}`, "preset", o.budget);
  if (!(Number.isInteger(o.jobs) && o.jobs > 0)) throw expected("positive integer", "jobs", o.jobs);
  const reused = readReusedSuites(o.reuse ?? [], o);
  const planned = planRuns(o, budget, reused);
  const res: SuiteResults = {
    suite: o.suite,
    data: o.data,
    budget: o.budget,
    seeds: [...Array(o.seeds).keys()],
    hardware: thisMachine(),
    planned: planned.length,
    runs: [],
  };
  const recorded = await gatherRecorded(o, budget, planned, reused);
  // A run whose folder is here resumes from it; a run recorded without its folder was finished elsewhere.
  const elsewhere = (name: string) =>
    recorded.has(name) && !existsSync(join(o.out, "runs", name, "config.json"));

  if (o.only !== undefined) {
    const run = planned.find((p) => p.name === o.only);
    if (!run)
      throw new ArgumentError(
        `Unknown run ${JSON.stringify(o.only)} for --only. This suite's runs: ${planned.map((p) => p.name).join(", ")}`,
      );
    if (!elsewhere(run.name)) res.runs.push(await runRow(run.row, run.seed, budget, o));
    return res;
  }
  await trainAndRecord(o, budget, planned, recorded, res, elsewhere);
  return res;
}

/** Trains the runs not yet done (in children for --jobs > 1), rewriting results.json and .md after each. */
async function trainAndRecord(
  o: ExperimentOptions,
  budget: Budget,
  planned: PlannedRun[],
  recorded: Map<string, RunResult>,
  res: SuiteResults,
  elsewhere: (name: string) => boolean,
): Promise<void> {
  const origin = (name: string) => {
    const from = recorded.get(name)?.reusedFrom;
    return from ? ` (reused from ${from})` : " (recorded in results.json)";
  };
  // Every recorded run stays in the table while others train (its folder, where here, holds the same numbers).
  const results = new Map(
    planned.flatMap((p) => (recorded.has(p.name) ? [[p.name, recorded.get(p.name)!]] : [])),
  );
  // Rewritten after every run, so a session that stops part-way still leaves a table of what is done. Runs are
  // recorded one at a time (a finished run is only read back, but train() is not meant to run concurrently).
  let recording = Promise.resolve();
  const record = (name: string) =>
    (recording = recording.then(async () => {
      const { row, seed } = planned.find((p) => p.name === name)!;
      if (!results.has(name)) results.set(name, await runRow(row, seed, budget, o));
      if (seed === 0) keepSampleGrid(o.out, name, row, results.get(name)?.reusedFrom);
      res.runs = planned.flatMap((p) => results.get(p.name) ?? []);
      const paired = suitePaired(res);
      if (paired.length || o.suite === "compare") res.paired = paired;
      writeFileAtomic(join(o.out, "results.json"), JSON.stringify(res, null, 2) + "\n");
      writeFileAtomic(join(o.out, "results.md"), suiteMarkdown(res, o.out));
    }));

  // Runs finished here but not yet in the table (say, by `--only` in another process) go in before any training,
  // so that the table is complete for them even if this invocation stops part-way.
  const finished = (p: { name: string }) => existsSync(join(o.out, "runs", p.name, "eval.json"));
  for (const p of planned) if (!results.has(p.name) && finished(p)) await record(p.name);
  const todo = planned.filter((p) => !results.has(p.name) && !finished(p));
  // Tokenizers first, here: children training rows of one seed in parallel must not race to train it.
  for (const seed of new Set(todo.filter((p) => p.row.sharedTokenizer).map((p) => p.seed)))
    await ensureTokenizer(seed, budget, o);
  // Warm starts' sources first: a warm row needs its source's finished run (one at a time, the plan's order does it).
  const sources = new Set(todo.flatMap((p) => (p.row.warmFrom ? [runName(p.row.warmFrom, p.seed)] : [])));
  if (o.jobs > 1 && todo.length > 1)
    for (const part of [todo.filter((p) => sources.has(p.name)), todo.filter((p) => !sources.has(p.name))])
      if (part.length)
        await runInChildren(
          part.map((p) => p.name),
          o,
          record,
        );
  for (const [i, { row, seed, name }] of planned.entries()) {
    const kept = elsewhere(name) ? origin(name) : "";
    o.log(`[${i + 1}/${planned.length}] ${row.key}, seed ${seed}${kept}`);
    await record(name);
  }
}
