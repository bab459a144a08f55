// Runs taken from other suites instead of trained again. `controls`, `frames` and `probe` share rows with
// `main` (the image model, the expressive video at T = 4, …): on the same data, budget and seed these are the
// same configuration, and training is deterministic under a seed, so retraining them would spend hours of the
// machine to reproduce numbers already recorded. A reused run keeps the folder it came from in its record, and
// the table says so.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Row, Budget } from "./suites.js";
import { type RunResult, type SuiteResults, runName } from "./aggregate.js";
import { ArgumentError, DataError } from "../errors.js";

/**
 * A suite's results.json, or a clear error naming the file. Runs recorded before runs named their machine get
 * the file's, so that a table which goes on on another machine still says where its older runs were trained.
 */
export function readSuiteResults(path: string): SuiteResults {
  let res: SuiteResults;
  try {
    res = JSON.parse(readFileSync(path, "utf8")) as SuiteResults;
  } catch (err) {
    throw new DataError(
      `${path} is not valid JSON (${(err as Error).message}); move it away to start afresh`,
    );
  }
  return { ...res, runs: (res.runs ?? []).map((r) => ({ ...r, hardware: r.hardware ?? res.hardware })) };
}

export interface Reusable {
  result: RunResult;
  /** The results folder it was recorded in. */
  from: string;
}

/** A results folder given to --reuse, read once and checked to hold the same data and budget. */
export interface ReusedSuite {
  dir: string;
  results: SuiteResults;
}

export function readReusedSuites(dirs: string[], target: { data: string; budget: string }): ReusedSuite[] {
  return dirs.map((dir) => {
    const path = join(dir, "results.json");
    if (!existsSync(path))
      throw new ArgumentError(
        `--reuse ${dir}: no results.json there; --reuse takes a results folder written by 'lastframe experiment'`,
      );
    const results = readSuiteResults(path);
    if (results.data !== target.data || results.budget !== target.budget)
      throw new ArgumentError(
        `--reuse ${dir}: it holds runs on ${results.data} at the ${results.budget} budget, not ${target.data} at ` +
          `${target.budget}: only the same data and budget give the same runs`,
      );
    return { dir, results };
  });
}

/** A run a suite plans: its row, seed, folder name and the configFingerprint of what it trains. */
export interface PlannedRun {
  row: Row;
  seed: number;
  name: string;
  config: string;
}

/**
 * The planned runs that the reused suites have recorded with the same row, seed, steps, batch and config (where
 * the record has its fingerprint: older ones do not). Suites are searched in order; the first match wins.
 */
export function reusableRuns(
  suites: ReusedSuite[],
  budget: Budget,
  planned: PlannedRun[],
): Map<string, Reusable> {
  const wanted = new Map(planned.map((p) => [p.name, p]));
  const found = new Map<string, Reusable>();
  for (const { dir, results } of suites) {
    for (const r of results.runs ?? []) {
      const name = runName(r.row, r.seed);
      const p = wanted.get(name);
      const same =
        p !== undefined &&
        r.model === p.row.model &&
        r.spec === p.row.spec &&
        r.frames === p.row.frames &&
        r.steps === budget.steps * (p.row.stepsFactor ?? 1) &&
        r.batch === budget.batch &&
        (r.config === undefined || r.config === p.config);
      // A record that was itself reused points at the folder that trained it.
      if (same && !found.has(name)) found.set(name, { result: r, from: r.reusedFrom ?? dir });
    }
  }
  return found;
}

/**
 * Per model family, the video spec with the lowest mean FD at T = 4 in the first `main` table among the reused
 * suites: the spec whose number of frames `frames --spec best` sweeps.
 */
export function bestSpecs(
  suites: ReusedSuite[],
  models: string[],
  log: (s: string) => void,
): Map<string, string> {
  const main = suites.find((s) => s.results.suite === "main");
  if (main === undefined)
    throw new ArgumentError(
      "--spec best needs --reuse <a main results folder>: its table says which spec is best",
    );
  const { dir, results } = main;
  const runs = results.runs ?? [];
  const best = new Map<string, string>();
  for (const model of models) {
    const fds = new Map<string, number[]>();
    for (const r of runs)
      if (r.model === model && r.frames === 4 && Number.isFinite(r.metrics.fd))
        fds.set(r.spec, [...(fds.get(r.spec) ?? []), r.metrics.fd!]);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const ranked = [...fds].sort(([, a], [, b]) => mean(a) - mean(b));
    if (!ranked.length)
      throw new ArgumentError(`--spec best: ${dir} has no scored video run of ${model} at T = 4`);
    const [spec, scores] = ranked[0]!;
    log(
      `best spec for ${model} in ${dir}: ${spec} (mean FD ${mean(scores).toFixed(2)} over ${scores.length} run(s))`,
    );
    best.set(model, spec);
  }
  return best;
}
