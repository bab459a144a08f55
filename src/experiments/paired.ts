// Paired differences between a suite's rows, with bootstrap intervals. Rows of one seed share the seed's data
// order, pseudo-video draws and (VQ compare rows) tokenizer, so the per-seed difference d_s = m(row, s) − m(base, s)
// removes what the seeds share; its mean over seeds is the effect, and resampling the seeds with replacement
// (a percentile bootstrap) gives its 95% interval. With 3 seeds the bootstrap distribution has only 10 distinct
// values, so the interval is coarse — about the range of the differences; it is stated, not dressed up.
import { mulberry32 } from "../util/random.js";

export interface Interval {
  mean: number;
  lo: number;
  hi: number;
  /** Seeds the difference was taken over. */
  n: number;
}

/** Percentile bootstrap interval of the mean of `values` (deterministic: a fixed seed). */
export function bootstrapMean(
  values: number[],
  o: { resamples?: number; level?: number; seed?: number } = {},
): Interval {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, lo: NaN, hi: NaN, n };
  const resamples = o.resamples ?? 10000;
  const rng = mulberry32(o.seed ?? 0);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[Math.floor(rng() * n)]!;
    means[b] = sum / n;
  }
  means.sort();
  const tail = (1 - (o.level ?? 0.95)) / 2;
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))]!;
  return { mean, lo: at(tail), hi: at(1 - tail), n };
}

export interface PairedDifference extends Interval {
  row: string;
  against: string;
  metric: string;
}

/** What pairing needs of a run's record (aggregate.ts RunResult has it). */
interface PairedRun {
  row: string;
  seed: number;
  metrics: Record<string, number>;
}

/** For every row other than `against`, the paired per-seed difference of `metric` to it (seeds both have). */
export function pairedDifferences(runs: PairedRun[], against: string, metric: string): PairedDifference[] {
  const base = new Map(runs.filter((r) => r.row === against).map((r) => [r.seed, r.metrics[metric]]));
  if (base.size === 0) return [];
  const rows = [...new Set(runs.map((r) => r.row))].filter((r) => r !== against);
  return rows.flatMap((row) => {
    const diffs = runs
      .filter((r) => r.row === row && Number.isFinite(r.metrics[metric]) && Number.isFinite(base.get(r.seed)))
      .map((r) => r.metrics[metric]! - base.get(r.seed)!);
    return diffs.length ? [{ row, against, metric, ...bootstrapMean(diffs) }] : [];
  });
}

/** "−4.98 [−7.1, −2.9]" (the interval absent with one seed). */
export function formatInterval(d: Interval, digits: number): string {
  const f = (v: number) => (v < 0 ? "−" : v > 0 ? "+" : "") + Math.abs(v).toFixed(digits);
  return Number.isFinite(d.lo) ? `${f(d.mean)} [${f(d.lo)}, ${f(d.hi)}]` : `${f(d.mean)} (1 seed)`;
}
