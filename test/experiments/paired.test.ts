// Paired per-seed differences and their percentile bootstrap intervals (src/experiments/paired.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { RunResult } from "../../src/experiments/aggregate.js";
import { bootstrapMean, formatInterval, pairedDifferences } from "../../src/experiments/paired.js";

const run = (row: string, seed: number, fd: number) =>
  ({ row, seed, metrics: { fd } }) as unknown as RunResult;

test("identical rows: every paired difference is 0 and the interval is [0, 0]", () => {
  const runs = [0, 1, 2].flatMap((s) => [run("image", s, 20 + s), run("copy", s, 20 + s)]);
  const [d] = pairedDifferences(runs, "image", "fd");
  assert.deepEqual({ ...d }, { row: "copy", against: "image", metric: "fd", mean: 0, lo: 0, hi: 0, n: 3 });
});

test("the pairing removes what a seed shares: a constant offset has a zero-width interval", () => {
  // Seeds far apart (10, 30, 50), the row always 2 better: unpaired the spread would swamp it.
  const runs = [10, 30, 50].flatMap((fd, s) => [run("image", s, fd), run("video", s, fd - 2)]);
  const [d] = pairedDifferences(runs, "image", "fd");
  assert.deepEqual([d!.mean, d!.lo, d!.hi], [-2, -2, -2]);
  assert.equal(formatInterval(d!, 1), "−2.0 [−2.0, −2.0]");
});

test("bootstrap: the interval lies within the range of the values, holds the mean, and is deterministic", () => {
  const values = [-3, 1, 0.5, 2, -1];
  const a = bootstrapMean(values);
  assert.ok(a.lo >= -3 && a.hi <= 2 && a.lo < a.mean && a.mean < a.hi, JSON.stringify(a));
  assert.deepEqual(bootstrapMean(values), a);
  // Resampling 3 values: the 2.5% and 97.5% quantiles of the 10 distinct means are near the extremes.
  const three = bootstrapMean([1, 2, 6]);
  assert.ok(three.lo <= 5 / 3 && three.hi >= 13 / 3, JSON.stringify(three));
  assert.ok(Number.isNaN(bootstrapMean([4]).lo));
  assert.equal(formatInterval(bootstrapMean([4]), 1), "+4.0 (1 seed)");
});

test("seeds missing from either row are left out of the pairing", () => {
  const runs = [run("image", 0, 10), run("image", 1, 12), run("video", 1, 11), run("video", 2, 99)];
  const [d] = pairedDifferences(runs, "image", "fd");
  assert.equal(d!.n, 1);
  assert.equal(d!.mean, -1);
});
