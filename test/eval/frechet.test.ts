// Fréchet distance: closed forms, symmetry, the matrix square root on random and nearly singular SPD matrices,
// and the statistics against numpy's definitions (mean, unbiased covariance).
import assert from "node:assert/strict";
import { test } from "node:test";
import * as T from "../../src/tensor/index.js";
import {
  frechetDistance,
  gaussianStats,
  sqrtmPsd,
  traceSqrtProduct,
  type GaussianStats,
} from "../../src/eval/frechet.js";
import { mulberry32 } from "../../src/util/random.js";
import { assertClose, assertNoLeak } from "../helpers.js";

/** A random orthogonal matrix (QR-free: eigenvectors of a random symmetric matrix). */
function randomRotation(d: number): T.Tensor {
  return T.tidy(() => {
    const a = T.randn([d, d], { dtype: "float64" });
    return T.raw.linalgEigh(a.add(a.t()))[1];
  });
}

/** Q diag(values) Qᵀ as float64. */
function spd(q: T.Tensor, values: number[]): T.Tensor {
  return T.tidy(() => q.mul(T.tensor(values, undefined, { dtype: "float64" })).mm(q.t()));
}

function stats(mu: number[], sigma: T.Tensor, n = 100): GaussianStats {
  return { n, dims: mu.length, mu: Float64Array.from(mu), sigma: sigma.data() as Float64Array };
}

test("FD of two Gaussians with commuting covariances equals the closed form, even with zero variances", () => {
  T.manualSeed(1);
  const d = 6;
  const q = randomRotation(d);
  const a = [4, 1, 0.25, 1e-9, 0, 2],
    b = [1, 1, 9, 0, 3e-12, 0.5];
  const mu1 = [0, 1, 2, 3, 4, 5],
    mu2 = [1, 1, 0, 3, 4, -1];
  // Same eigenvectors: tr(Σ1 + Σ2 − 2(Σ1Σ2)^½) = Σ (√a − √b)², so FD = |Δμ|² + Σ (√a_i − √b_i)².
  const expected =
    mu1.reduce((s, m, i) => s + (m - mu2[i]!) ** 2, 0) +
    a.reduce((s, x, i) => s + (Math.sqrt(x) - Math.sqrt(b[i]!)) ** 2, 0);
  const s1 = spd(q, a),
    s2 = spd(q, b);
  const fd = frechetDistance(stats(mu1, s1), stats(mu2, s2));
  assert.ok(Math.abs(fd - expected) < 1e-6, `FD ${fd} vs closed form ${expected}`);
  T.dispose([q, s1, s2]);
});

test("FD of univariate Gaussians is (μ1 − μ2)² + (σ1 − σ2)²", () => {
  const fd = frechetDistance(
    stats([1.5], T.tensor([[4]], undefined, { dtype: "float64" })),
    stats([-0.5], T.tensor([[0.25]], undefined, { dtype: "float64" })),
  );
  assert.ok(Math.abs(fd - (4 + 1.5 ** 2)) < 1e-12, String(fd));
});

/** The trace of a d×d matrix stored row-major. */
const trace = (m: ArrayLike<number>, d: number) =>
  Array.from({ length: d }, (_, i) => m[i * (d + 1)]!).reduce((a, v) => a + v, 0);

test("FD of a feature set with itself is 0 and FD is symmetric", () => {
  T.manualSeed(2);
  assertNoLeak(() =>
    T.tidy(() => {
      // Fewer samples than dimensions: singular covariances, where pytorch-fid needs its ε fallback.
      for (const [n, d] of [
        [500, 16],
        [40, 64],
      ] as const) {
        const x = T.randn([n, d]).mul(T.rand([d]).add(0.1));
        const y = T.randn([n, d]).add(0.3);
        const sx = gaussianStats(x),
          sy = gaussianStats(y);
        const self = frechetDistance(sx, sx);
        // Square roots of eigenvalues that are 0 up to rounding (1e-16 relative) are up to 1e-8 relative.
        const scale = trace(sx.sigma, d);
        assert.ok(Math.abs(self) < 1e-6 * scale, `FD(x, x) = ${self} for n=${n}, d=${d}, tr Σ = ${scale}`);
        const xy = frechetDistance(sx, sy),
          yx = frechetDistance(sy, sx);
        assert.ok(xy > 0.5, `FD(x, y) = ${xy} should be clearly positive`);
        // The same rounding bound: the two orders take square roots of different near-singular products (a
        // relative gap of 5e-9 was seen on an Intel Xeon).
        const both = scale + trace(sy.sigma, d);
        assert.ok(Math.abs(xy - yx) < 1e-6 * both, `FD(x, y) = ${xy} but FD(y, x) = ${yx}, tr Σ = ${both}`);
      }
    }),
  );
});

test("gaussianStats equals the mean and numpy's unbiased covariance", () => {
  const rows = [
    [1, 2, 0],
    [3, -1, 4],
    [0, 0, 1],
    [2, 5, -2],
  ];
  const s = T.tidy(() => gaussianStats(T.tensor(rows)));
  const n = rows.length;
  const mu = [0, 1, 2].map((j) => rows.reduce((a, r) => a + r[j]!, 0) / n);
  const cov: number[] = [];
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++)
      cov.push(rows.reduce((a, r) => a + (r[i]! - mu[i]!) * (r[j]! - mu[j]!), 0) / (n - 1));
  assertClose(s.mu, mu, 1e-12, "mu");
  assertClose(s.sigma, cov, 1e-12, "sigma");
  assert.equal(s.n, 4);
});

test("sqrtmPsd squares back to random SPD matrices, including nearly singular ones", () => {
  T.manualSeed(3);
  const rng = mulberry32(3);
  T.tidy(() => {
    for (const d of [5, 64]) {
      const q = randomRotation(d);
      for (const floor of [1e-1, 1e-8, 0]) {
        // Eigenvalues spread over [floor, 10]; floor 0 puts a few exact zeros in (rank-deficient).
        const values = Array.from({ length: d }, (_, i) => (floor === 0 && i < 3 ? 0 : floor + 10 * rng()));
        const a = spd(q, values);
        const root = sqrtmPsd(a);
        const err = root.mm(root).sub(a).abs().max().item();
        assert.ok(err < 1e-10, `d=${d} floor=${floor}: |sqrt(A)² − A| = ${err}`);
        assert.ok(root.sub(root.t()).abs().max().item() < 1e-12, "the root is symmetric");
      }
    }
  });
});

test("traceSqrtProduct matches a Newton–Schulz iteration on non-commuting SPD matrices", () => {
  T.manualSeed(4);
  T.tidy(() => {
    const d = 12;
    const g1 = T.randn([d, 2 * d], { dtype: "float64" }),
      g2 = T.randn([d, 2 * d], { dtype: "float64" });
    const s1 = g1
      .mm(g1.t())
      .div(2 * d)
      .add(T.eye(d, { dtype: "float64" }).mul(0.1));
    const s2 = g2
      .mm(g2.t())
      .div(2 * d)
      .add(T.eye(d, { dtype: "float64" }).mul(0.1));
    // Coupled Newton–Schulz on M = Σ1Σ2 / c: Y → M^½, Z → M^-½, using matrix products only (an independent method).
    const m = s1.mm(s2);
    const c = m.norm().item();
    let y = m.div(c),
      z = T.eye(d, { dtype: "float64" });
    const eye3 = T.eye(d, { dtype: "float64" }).mul(3);
    for (let i = 0; i < 60; i++) {
      const t = eye3.sub(z.mm(y)).mul(0.5);
      [y, z] = [y.mm(t), t.mm(z)];
    }
    const expected = T.raw.trace(y).item() * Math.sqrt(c);
    const got = traceSqrtProduct(s1, s2);
    assert.ok(Math.abs(got - expected) < 1e-9 * expected, `trace ${got} vs Newton–Schulz ${expected}`);
  });
});
