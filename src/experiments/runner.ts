// Runs a suite: for every row and seed, train (resuming where a previous session stopped), evaluate, and
// record; then aggregate. Everything lands in the suite's folder:
//   <out>/runs/<row>-s<seed>/   run folders (config, metrics.jsonl, checkpoints, samples, eval.json)
//   <out>/results.json          every run's numbers plus the suite's settings
//   <out>/results.md            the table, mean ± std over seeds
// A finished run is never trained again, so re-running the same command only does what is missing.
import { existsSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { train } from "../train/loop.js";
import { loadRunData } from "../train/data.js";
import { closeRun, openRun } from "../train/run-dir.js";
import { linearProbe } from "./probe.js";
import { writeFileAtomic } from "../util/atomic.js";
import { type Budget, type Row, budgets, suiteRows } from "./suites.js";
import { type RunResult, type SuiteResults, suiteMarkdown } from "./aggregate.js";
import { expected } from "../tensor/errors.js";
import { type EvalReport, type MetricName, evaluate, writeReport } from "../eval/evaluate.js";

export interface ExperimentOptions {
  suite: string;
  data: string;
  models: string[];
  budget: string;
  seeds: number;
  out: string;
  metrics: MetricName[];
  inceptionWeights?: string;
  output: "bar" | "quiet";
  log: (s: string) => void;
}

/**
 * The table's numbers from an evaluation. bits/dim is the image's likelihood only for image models (T = 1):
 * a video model's per-frame bound conditions the last frame on corrupted copies of it, which is not a
 * likelihood of the image, so it is left out of the comparison.
 */
function tableMetrics(r: EvalReport, frames: number): Record<string, number> {
  const m: Record<string, number> = {};
  if (r.fd !== undefined) m.fd = r.fd;
  if (r.kid) m.kid = r.kid.mean;
  if (r.pr) Object.assign(m, { precision: r.pr.precision, recall: r.pr.recall });
  if (r.fid) m.fid = r.fid.value;
  if (r.bpd?.bpd !== undefined && frames === 1) m.bpd = r.bpd.bpd;
  return m;
}

interface MetricsRecord {
  type: string;
  step: number;
  time?: number;
  images_per_s?: number;
}

/** Training time and mean throughput from a run's metrics.jsonl. */
function trainingTimes(dir: string): { seconds: number; imagesPerSecond: number } {
  const lines = readFileSync(join(dir, "metrics.jsonl"), "utf8").split("\n").filter(Boolean);
  const train = lines.map((l) => JSON.parse(l) as MetricsRecord).filter((r) => r.type === "train");
  const last = train[train.length - 1];
  const ips = train.map((r) => r.images_per_s ?? NaN).filter(Number.isFinite);
  return {
    seconds: last?.time ?? NaN,
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
    const o = {
      trainImages: budget.probeImages,
      testImages: budget.probeImages,
      steps: 300,
      pad: run.config.data.pad,
    };
    const accuracy = linearProbe(run.model, data, o);
    writeFileAtomic(path, JSON.stringify({ accuracy, ...o }, null, 2) + "\n");
    return accuracy;
  } finally {
    closeRun(run);
  }
}

async function runRow(row: Row, seed: number, budget: Budget, o: ExperimentOptions): Promise<RunResult> {
  const dir = join(o.out, "runs", `${row.key}-s${seed}`);
  const evalPath = join(dir, "eval.json");
  const result = await train(
    {
      model: row.model,
      preset: budget.preset,
      data: { name: o.data, limit: budget.limit },
      spec: row.spec,
      frames: row.frames,
      framesAsImages: row.framesAsImages ?? false,
      train: { seed, steps: budget.steps, batch: budget.batch },
    },
    dir,
    { resume: true, output: o.output, log: o.log },
  );
  if (!result.finished) throw new Error(`run ${dir} stopped before its last step`);
  let report: EvalReport;
  if (existsSync(evalPath)) report = JSON.parse(readFileSync(evalPath, "utf8")) as EvalReport;
  else {
    report = await evaluate(dir, {
      metrics: o.metrics,
      n: budget.evalN,
      bpdImages: budget.evalN,
      inceptionWeights: o.inceptionWeights,
      progress: o.output === "bar",
      log: o.log,
    });
    writeReport(report, evalPath);
  }
  const metrics = tableMetrics(report, row.frames);
  if (o.suite === "probe") metrics.probe = await probeAccuracy(dir, budget);
  const times = trainingTimes(dir);
  return {
    row: row.key,
    label: row.label,
    model: row.model,
    spec: row.spec,
    frames: row.frames,
    seed,
    steps: budget.steps,
    batch: budget.batch,
    framesSeen: budget.steps * budget.batch * row.frames,
    trainSeconds: times.seconds,
    imagesPerSecond: times.imagesPerSecond,
    metrics,
  };
}

export async function runSuite(o: ExperimentOptions): Promise<SuiteResults> {
  const budget = budgets[o.budget];
  if (!budget) throw expected(`one of ${Object.keys(budgets).join(", ")}`, "preset", o.budget);
  const rows = suiteRows(o.suite, o.models);
  const seeds = [...Array(o.seeds).keys()];
  const res: SuiteResults = {
    suite: o.suite,
    data: o.data,
    budget: o.budget,
    seeds,
    hardware: `${cpus().length} × ${cpus()[0]?.model.trim() ?? "CPU"}`,
    runs: [],
  };
  const total = rows.length * seeds.length;
  for (const seed of seeds)
    for (const row of rows) {
      o.log(`[${res.runs.length + 1}/${total}] ${row.key}, seed ${seed}`);
      res.runs.push(await runRow(row, seed, budget, o));
      // Written after every run, so a session that stops part-way still leaves a table of what is done.
      writeFileAtomic(join(o.out, "results.json"), JSON.stringify(res, null, 2) + "\n");
      writeFileAtomic(join(o.out, "results.md"), suiteMarkdown(res, o.out));
    }
  return res;
}
