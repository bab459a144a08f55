// The bench's statistics on synthetic timings: the t quantiles, the ratio's interval (exact without noise, ~95 %
// coverage with noise, wider with fewer rounds), and the comparison against a saved bench.
import assert from "node:assert/strict";
import { test } from "node:test";
import { compareBenches, halfWidth, ratioInterval, t975 } from "../../src/bench/interval.js";
import { mulberry32 } from "../../src/util/random.js";

test("t quantiles: the table and the series beyond it", () => {
  assert.equal(t975(1), 12.706);
  assert.equal(t975(10), 2.228);
  // Published values: 2.021 (40), 1.984 (100), 1.962 (1000).
  assert.ok(Math.abs(t975(40) - 2.021) < 1e-3, String(t975(40)));
  assert.ok(Math.abs(t975(100) - 1.984) < 1e-3, String(t975(100)));
  assert.ok(Math.abs(t975(1000) - 1.962) < 1e-3, String(t975(1000)));
  // The series joins the table without a jump.
  assert.ok(Math.abs(t975(31) - 2.04) < 1e-3, String(t975(31)));
});

test("without noise the interval is the ratio itself; one round has none", () => {
  const b = [10, 12, 9, 30, 11];
  const r = ratioInterval(
    b.map((x) => 1.1 * x),
    b,
  );
  assert.ok(Math.abs(r.ratio - 1.1) < 1e-12);
  assert.ok(Math.abs(r.lo! - 1.1) < 1e-12 && Math.abs(r.hi! - 1.1) < 1e-12);
  const one = ratioInterval([2], [1]);
  assert.deepEqual([one.ratio, one.lo, one.hi, halfWidth(one)], [2, null, null, Infinity]);
  assert.throws(() => ratioInterval([1, 2], [1]), /paired rounds/);
});

/** Rounds whose two sides share the machine's drift (×0.7 … ×1.3) and carry their own log-normal noise. */
function rounds(rng: () => number, n: number, ratio: number, noise: number): [number[], number[]] {
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const a: number[] = [],
    b: number[] = [];
  for (let i = 0; i < n; i++) {
    const drift = 0.7 + 0.6 * rng();
    b.push(20 * drift * Math.exp(noise * gauss()));
    a.push(20 * ratio * drift * Math.exp(noise * gauss()));
  }
  return [a, b];
}

test("the 95 % interval covers the true ratio in about 95 % of synthetic benches, despite the shared drift", () => {
  const rng = mulberry32(7);
  for (const n of [3, 8, 20]) {
    let covered = 0;
    const trials = 4000;
    for (let t = 0; t < trials; t++) {
      const r = ratioInterval(...rounds(rng, n, 1.05, 0.04));
      if (r.lo! <= 1.05 && 1.05 <= r.hi!) covered++;
    }
    const rate = covered / trials;
    assert.ok(rate > 0.935 && rate < 0.965, `n = ${n}: coverage ${rate}`);
  }
  // More rounds, a narrower interval: ±0.03 needs about (1.96 · 0.04 · √2 / 0.03)² ≈ 14 rounds at 4 % noise.
  const w = (n: number) => halfWidth(ratioInterval(...rounds(mulberry32(1), n, 1, 0.04)));
  assert.ok(w(4) > w(16) && w(16) > w(64), `${w(4)} ${w(16)} ${w(64)}`);
  assert.ok(w(4) > 0.03 && w(64) < 0.03, `${w(4)} ${w(64)}`);
});

test("compare: slower or faster only when the intervals do not overlap; no interval, not judged", () => {
  const c = (name: string, ratio: number | null, lo: number | null, hi: number | null) => ({
    name,
    ts_ms: 10,
    ratio,
    ratio_lo: lo,
    ratio_hi: hi,
  });
  const before = [
    c("a", 1.0, 0.98, 1.02),
    c("b", 1.0, 0.98, 1.02),
    c("c", 1.0, 0.98, 1.02),
    c("d", null, null, null),
    c("gone", 1, 0.9, 1.1),
  ];
  const after = [
    c("a", 1.06, 1.03, 1.09),
    c("b", 1.01, 0.99, 1.03),
    c("c", 0.9, 0.88, 0.92),
    c("d", null, null, null),
    c("new", 1, 0.9, 1.1),
  ];
  assert.deepEqual(
    compareBenches(before, after).map((x) => [x.name, x.verdict, x.before.ratio, x.after.ratio]),
    [
      ["a", "slower", 1.0, 1.06],
      ["b", "same", 1.0, 1.01],
      ["c", "faster", 1.0, 0.9],
      ["d", "not judged", null, null],
    ],
  );
});
