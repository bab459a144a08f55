// KID (unbiased MMD²) and precision/recall on synthetic feature sets whose answers are known.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as T from "../../src/tensor/index.js";
import { kernelInceptionDistance, polynomialMmd } from "../../src/eval/kid.js";
import { kthNeighbourRadii, precisionRecall } from "../../src/eval/precision-recall.js";
import { assertNoLeak } from "../helpers.js";

test("polynomialMmd equals the unbiased estimator written out pair by pair", () => {
  const x = [
      [0.5, -1],
      [2, 0.25],
      [-1, 1],
    ],
    y = [
      [1, 1],
      [0, -0.5],
      [0.75, 2],
    ];
  const k = (a: number[], b: number[]) => ((a[0]! * b[0]! + a[1]! * b[1]!) / 2 + 1) ** 3;
  let xx = 0,
    yy = 0,
    xy = 0;
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      if (i !== j) {
        xx += k(x[i]!, x[j]!);
        yy += k(y[i]!, y[j]!);
      }
      xy += k(x[i]!, y[j]!);
    }
  const expected = (xx + yy) / 6 - (2 * xy) / 9;
  const got = T.tidy(() => polynomialMmd(T.tensor(x), T.tensor(y)));
  assert.ok(Math.abs(got - expected) < 1e-12, `${got} vs ${expected}`);
});

test("KID is unbiased: about 0 for two samples of one distribution, clearly positive for a shifted one", () => {
  T.manualSeed(5);
  assertNoLeak(() =>
    T.tidy(() => {
      const d = 32;
      const a = T.randn([2000, d]),
        b = T.randn([2000, d]),
        shifted = T.randn([2000, d]).add(0.5);
      const same = kernelInceptionDistance(a, b, { subsets: 50, subsetSize: 200, seed: 1 });
      const diff = kernelInceptionDistance(a, shifted, { subsets: 50, subsetSize: 200, seed: 1 });
      // Unbiased: the mean over subsets is within a few standard errors of 0 (a biased estimator sits at
      // about 2·E[k(x,x) − k(x,y)]/m > 0 here).
      const stderr = same.std / Math.sqrt(same.subsets);
      assert.ok(Math.abs(same.mean) < 4 * stderr + 1e-4, `same distribution: KID ${same.mean} ± ${same.std}`);
      assert.ok(
        diff.mean > (20 * diff.std) / Math.sqrt(diff.subsets) && diff.mean > 0.01,
        `shifted: KID ${diff.mean} ± ${diff.std}`,
      );
      assert.equal(diff.subsetSize, 200);
    }),
  );
});

test("KID is reproducible from its seed", () => {
  T.manualSeed(6);
  T.tidy(() => {
    const a = T.randn([300, 8]),
      b = T.randn([300, 8]).mul(1.5);
    const r1 = kernelInceptionDistance(a, b, { subsets: 5, seed: 7 });
    const r2 = kernelInceptionDistance(a, b, { subsets: 5, seed: 7 });
    assert.deepEqual(r1, r2);
    assert.equal(r1.subsetSize, 300);
  });
});

test("kthNeighbourRadii: the distance to the k-th nearest other point", () => {
  const pts = [[0], [1], [3], [7], [15]];
  const radii = T.tidy(() => kthNeighbourRadii(T.tensor(pts), 2).toArray());
  // For 0: neighbours at 1, 3 → 3; for 1: 0 (1), 3 (2) → 2; for 3: 1 (2), 0 (3) → 3; for 7: 3 (4), 1 (6) → 6; 15: 7, 3 → 12.
  assert.deepEqual(
    radii.map((r) => Math.round(r * 1e4) / 1e4),
    [3, 2, 3, 6, 12],
  );
});

test("precision and recall are 1 for identical sets and fall when one set is shifted", () => {
  T.manualSeed(8);
  assertNoLeak(() =>
    T.tidy(() => {
      const real = T.randn([1500, 16]);
      const same = precisionRecall(real, real.clone());
      assert.deepEqual(same, { precision: 1, recall: 1, k: 3 });
      const near = precisionRecall(real, T.randn([1500, 16]));
      // k = 3 balls cover most, not all, of a second sample in 16 dimensions.
      assert.ok(
        near.precision > 0.7 && near.recall > 0.7,
        `another sample of the distribution: ${JSON.stringify(near)}`,
      );
      const far = precisionRecall(real, T.randn([1500, 16]).add(1.5));
      assert.ok(
        far.precision < near.precision - 0.3 && far.recall < near.recall - 0.3,
        `shifted: ${JSON.stringify(far)}`,
      );
      // A collapsed generator (every sample near one real mode) keeps precision but loses recall.
      const collapsed = precisionRecall(real, T.randn([1500, 16]).mul(0.05));
      assert.ok(
        collapsed.precision > 0.9 && collapsed.recall < 0.05,
        `collapsed: ${JSON.stringify(collapsed)}`,
      );
    }),
  );
});
