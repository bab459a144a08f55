// Forecast scores: the sample CRPS against hand-computed values and against the closed form for a Gaussian
// forecast (Gneiting & Raftery 2007), median MAE, and the last-value and seasonal-naive baselines on a synthetic
// seasonal series, where seasonal-naive must win.
import assert from "node:assert/strict";
import { test } from "node:test";
import { crps, lastValueForecast, scoreForecast, seasonalNaiveForecast } from "../../src/eval/forecast.js";
import { assertClose } from "../helpers.js";

/** erf by its Taylor series: about 1e-10 for the |x| < 4 this test needs (the series cancels beyond). */
function erf(x: number): number {
  if (Math.abs(x) > 6) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** CRPS of N(μ, σ²) at y: σ [z (2Φ(z) − 1) + 2φ(z) − 1/√π], z = (y − μ)/σ. */
function gaussianCrps(mu: number, sigma: number, y: number): number {
  const z = (y - mu) / sigma;
  const cdf = 0.5 * (1 + erf(z / Math.SQRT2));
  const pdf = Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
  return sigma * (z * (2 * cdf - 1) + 2 * pdf - 1 / Math.sqrt(Math.PI));
}

/** A seeded standard normal stream (Box–Muller over a 32-bit LCG), independent of libtorch. */
function normals(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

test("CRPS of a few samples is E|X − y| − ½ E|X − X'| over all pairs", () => {
  // Samples 1, 2, 4 at y = 3: E|X − y| = (2 + 1 + 1)/3; pair term Σ|xi − xj| = 2 (1 + 3 + 2) = 12 over 9 pairs.
  assertClose([crps([4, 1, 2], 3)], [4 / 3 - 12 / 18], 1e-15);
  assert.equal(crps([2.5], 1), 1.5, "one sample: the absolute error");
  assert.equal(crps([1, 1, 1], 1), 0, "a sure and right forecast");
  assert.throws(() => crps([], 0), /no samples/);
});

test("CRPS of Gaussian samples converges to the Gaussian closed form", () => {
  const draw = normals(7);
  for (const [mu, sigma, y] of [
    [0, 1, 0],
    [2, 0.5, 3.1],
    [-1, 3, 4],
  ] as const) {
    const samples = Array.from({ length: 40000 }, () => mu + sigma * draw());
    const exact = gaussianCrps(mu, sigma, y);
    // Monte-Carlo error of the mean term is about σ / √m ≈ 0.005 σ; allow 2%.
    const got = crps(samples, y);
    assert.ok(Math.abs(got - exact) < 0.02 * exact, `N(${mu}, ${sigma}²) at ${y}: ${got} vs ${exact}`);
  }
  // The reference itself: at z = 0 the closed form is σ (2φ(0) − 1/√π) = σ (√2 − 1)/√π.
  assertClose([gaussianCrps(0, 2, 0)], [(2 * (Math.SQRT2 - 1)) / Math.sqrt(Math.PI)], 1e-12);
});

test("scoreForecast averages CRPS and the median's absolute error over the horizon", () => {
  // 3 paths of 2 points, path-major: point 0 samples 1, 2, 4; point 1 samples 0, 0, 10.
  const score = scoreForecast([1, 0, 2, 0, 4, 10], 3, [3, 1]);
  assertClose([score.crps], [(crps([1, 2, 4], 3) + crps([0, 0, 10], 1)) / 2], 1e-15);
  assertClose([score.maeMedian], [(1 + 1) / 2], 1e-15);
  assert.equal(scoreForecast([1, 3], 2, [1]).maeMedian, 1, "even count: the mean of the middle two");
  assert.throws(() => scoreForecast([1, 2, 3], 2, [1, 2]), /3 values for 2 paths of 2 points/);
});

test("baselines on a synthetic seasonal series: seasonal-naive is exact without noise, and wins with it", () => {
  const period = 24;
  const draw = normals(3);
  const series = (noise: number) =>
    Array.from({ length: 24 * 20 }, (_, t) => 10 + 5 * Math.sin((2 * Math.PI * t) / period) + noise * draw());
  const clean = series(0);
  const [history, future] = [clean.slice(0, 400), clean.slice(400, 448)];
  const naive = seasonalNaiveForecast(history, 48, period);
  assertClose(naive, future, 1e-12, "seasonal-naive on a noiseless seasonal series");
  assert.deepEqual(Array.from(lastValueForecast(history, 3)), Array(3).fill(history[399]));
  // Point k of the forecast repeats history[400 + k − 24 ⌈(k + 1)/24⌉]: 376 for k = 0, 399 for k = 23, 376 for 24.
  assert.deepEqual([naive[0], naive[23], naive[24]], [history[376], history[399], history[376]]);

  const noisy = series(0.5);
  const [h2, f2] = [noisy.slice(0, 400), noisy.slice(400, 448)];
  const seasonal = scoreForecast(seasonalNaiveForecast(h2, 48, period), 1, f2);
  const last = scoreForecast(lastValueForecast(h2, 48), 1, f2);
  // One path: CRPS is the absolute error. Seasonal-naive's error is the difference of two noises (≈ 0.56 mean
  // absolute); last-value misses the seasonal swing of amplitude 5 (≈ 3.2).
  assert.equal(seasonal.crps, seasonal.maeMedian);
  assert.ok(seasonal.crps < 0.8 && last.crps > 2.5, `seasonal ${seasonal.crps}, last value ${last.crps}`);
  assert.throws(() => seasonalNaiveForecast(h2, 4, 401), /period 401 with a history of 400 points/);
});
