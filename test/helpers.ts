// Shared test helpers: numeric comparison, finite-difference gradient checks, leak checks.
import assert from "node:assert/strict";
import { type Tensor, fromTyped, liveTensors, tidy, randn } from "../src/tensor/index.js";

export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol = 1e-5,
  what = "value",
): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!,
      e = expected[i]!;
    const err = Math.abs(a - e) / Math.max(1, Math.abs(e));
    if (!(err <= tol))
      assert.fail(`${what}[${i}]: got ${a}, expected ${e} (rel err ${err.toExponential(2)} > ${tol})`);
  }
}

/**
 * Checks autograd against central finite differences in float64: for L(x) = Σ f(x) ⊙ w with a fixed random w,
 * dL/dx from backward() must match (L(x+h) − L(x−h)) / 2h at every element of every input.
 */
export function gradcheck(
  name: string,
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  tol = 1e-6,
  h = 1e-6,
): void {
  tidy(() => {
    const xs = inputs.map((x) => x.to("float64").detach().requiresGrad_());
    const w = randn(f(...xs).shape, { dtype: "float64" });
    const L = (args: Tensor[]) =>
      tidy(() =>
        f(...args)
          .mul(w)
          .sum()
          .item(),
      );
    const loss = f(...xs)
      .mul(w)
      .sum();
    loss.backward();
    xs.forEach((x, k) => {
      const analytic = x.grad!.toArray();
      const base = x.detach().data() as Float64Array;
      const numeric: number[] = [];
      for (let i = 0; i < base.length; i++) {
        const plus = Float64Array.from(base),
          minus = Float64Array.from(base);
        plus[i]! += h;
        minus[i]! -= h;
        const args = (v: Float64Array) => xs.map((y, j) => (j === k ? fromTyped(v, y.shape) : y.detach()));
        numeric.push((L(args(plus)) - L(args(minus))) / (2 * h));
      }
      assertClose(analytic, numeric, tol, `${name}: d/d input ${k}`);
    });
  });
}

/** Runs fn and asserts that it leaves no tensor alive that it did not return. */
export function assertNoLeak<T>(fn: () => T): T {
  const before = liveTensors();
  const out = fn();
  assert.equal(liveTensors(), before, "live tensor count changed");
  return out;
}
