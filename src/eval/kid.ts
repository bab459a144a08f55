// Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs"): the unbiased estimate of the
// squared maximum mean discrepancy with the cubic polynomial kernel k(x, y) = (x·y / d + 1)³, averaged over
// random subsets of both sets (as in their reference code: 100 subsets of 1000 when there are enough samples).
// Unlike the Fréchet distance it is unbiased, so small sample counts do not inflate it; report mean ± std.
import { type Tensor, check, fromTyped, noGrad, ones, raw, tidy } from "../tensor/index.js";
import { choose, mulberry32 } from "../util/random.js";

export interface KidOptions {
  subsets?: number;
  /** Samples per subset (default min(1000, both set sizes)). */
  subsetSize?: number;
  seed?: number;
}

export interface KidResult {
  mean: number;
  std: number;
  subsets: number;
  subsetSize: number;
}

/** Unbiased MMD² between x (m, D) and y (m, D) with the cubic polynomial kernel, in float64. */
export function polynomialMmd(x: Tensor, y: Tensor): number {
  const [m, d] = x.shape as [number, number];
  check(
    m >= 2 && y.size(0) === m && y.size(1) === d,
    () => `polynomialMmd: expected two (m, D) sets with m ≥ 2 but got [${x.shape}] and [${y.shape}]`,
  );
  return noGrad(() =>
    tidy(() => {
      const a = x.double(),
        b = y.double();
      const one = ones([1, 1], { dtype: "float64" });
      // (p qᵀ / d + 1)³, with the scale and offset fused into the matrix product.
      const kernel = (p: Tensor, q: Tensor) => {
        const k = raw.addmm(one, p, q.t(), 1, 1 / d);
        return k.square().mul(k);
      };
      const kxx = kernel(a, a),
        kyy = kernel(b, b),
        kxy = kernel(a, b);
      // Within-set sums leave out the diagonal (k(x, x)): that is what makes the estimate unbiased.
      const within = kxx.sum().sub(raw.trace(kxx)).add(kyy.sum()).sub(raw.trace(kyy)).item();
      return within / (m * (m - 1)) - (2 * kxy.sum().item()) / (m * m);
    }),
  );
}

/** KID between two feature sets (N, D) and (M, D): mean and standard deviation of MMD² over random subsets. */
export function kernelInceptionDistance(x: Tensor, y: Tensor, o: KidOptions = {}): KidResult {
  const subsets = o.subsets ?? 100;
  const size = o.subsetSize ?? Math.min(1000, x.size(0), y.size(0));
  check(
    size >= 2 && size <= x.size(0) && size <= y.size(0),
    () => `kernelInceptionDistance: subset size ${size} needs 2 to min(${x.size(0)}, ${y.size(0)}) samples`,
  );
  const rng = mulberry32(o.seed ?? 0);
  // Subsets as large as both sets are all the same pairs of sets: one is enough.
  if (size === x.size(0) && size === y.size(0))
    return { mean: polynomialMmd(x, y), std: 0, subsets: 1, subsetSize: size };
  const values: number[] = [];
  for (let s = 0; s < subsets; s++) {
    values.push(
      tidy(() => {
        const ix = fromTyped(choose(rng, x.size(0), size), [size]).long();
        const iy = fromTyped(choose(rng, y.size(0), size), [size]).long();
        return polynomialMmd(x.indexSelect(0, ix), y.indexSelect(0, iy));
      }),
    );
  }
  const mean = values.reduce((a, b) => a + b, 0) / subsets;
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / subsets);
  return { mean, std, subsets, subsetSize: size };
}
