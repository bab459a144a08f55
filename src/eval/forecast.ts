// Scores for probabilistic forecasts and the baselines they are compared with (issue 29: the time-series half of
// the 1-D modality). A forecast is S sample paths of the next H points; it is scored per point by the CRPS of the
// samples' empirical distribution and by the absolute error of their median, each averaged over the horizon.
// Baselines are point forecasts (one path), whose CRPS is their absolute error.
import { ArgumentError } from "../errors.js";

/**
 * CRPS of the empirical distribution of `samples` at the outcome y: E|X − y| − ½ E|X − X'| with X, X' drawn
 * from the samples (both expectations over all pairs, i = j included, as properscoring's crps_ensemble). The
 * pair term is computed from the sorted samples, Σ_i Σ_j |x_i − x_j| = 2 Σ_k (2k − m + 1) x_(k), in O(m log m).
 */
export function crps(samples: ArrayLike<number>, y: number): number {
  const m = samples.length;
  if (m === 0) throw new ArgumentError("crps: no samples");
  const sorted = Float64Array.from(samples).sort();
  let spread = 0;
  let miss = 0;
  for (let k = 0; k < m; k++) {
    miss += Math.abs(sorted[k]! - y);
    spread += (2 * k - m + 1) * sorted[k]!;
  }
  return miss / m - spread / (m * m);
}

function median(sorted: Float64Array): number {
  const m = sorted.length;
  return m % 2 ? sorted[(m - 1) / 2]! : (sorted[m / 2 - 1]! + sorted[m / 2]!) / 2;
}

export interface ForecastScore {
  /** Mean over the horizon of the per-point CRPS. */
  crps: number;
  /** Mean over the horizon of |median of the samples − outcome|. */
  maeMedian: number;
}

/** Scores S sample paths `paths` (S × H, path-major) of a forecast against the outcomes `target` (H). */
export function scoreForecast(
  paths: ArrayLike<number>,
  samples: number,
  target: ArrayLike<number>,
): ForecastScore {
  const h = target.length;
  if (paths.length !== samples * h)
    throw new ArgumentError(`scoreForecast: ${paths.length} values for ${samples} paths of ${h} points`);
  let c = 0;
  let mae = 0;
  const column = new Float64Array(samples);
  for (let t = 0; t < h; t++) {
    for (let s = 0; s < samples; s++) column[s] = paths[s * h + t]!;
    c += crps(column, target[t]!);
    mae += Math.abs(median(column.sort()) - target[t]!);
  }
  return { crps: c / h, maeMedian: mae / h };
}

/** The last-value (persistence) forecast: the last observed point, repeated over the horizon. */
export function lastValueForecast(history: ArrayLike<number>, horizon: number): Float64Array {
  if (history.length === 0) throw new ArgumentError("lastValueForecast: empty history");
  return new Float64Array(horizon).fill(history[history.length - 1]!);
}

/** The seasonal-naive forecast: each point repeats the one a whole number of periods before it. */
export function seasonalNaiveForecast(
  history: ArrayLike<number>,
  horizon: number,
  period: number,
): Float64Array {
  const n = history.length;
  if (!Number.isInteger(period) || period < 1 || period > n)
    throw new ArgumentError(`seasonalNaiveForecast: period ${period} with a history of ${n} points`);
  // Point n + k (k = 0 … H − 1) repeats point n + k − p·⌈(k + 1) / p⌉, the latest observed one of its phase.
  return Float64Array.from(
    { length: horizon },
    (_, k) => history[n + k - period * Math.ceil((k + 1) / period)]!,
  );
}
