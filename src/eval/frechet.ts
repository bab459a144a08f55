// The Fréchet distance between two Gaussians fitted to feature sets (FID when the features are Inception's):
//   d² = |μ1 − μ2|² + tr(Σ1) + tr(Σ2) − 2 tr((Σ1 Σ2)^½),
// pytorch-fid's formula (calculate_frechet_distance) with its statistics: the mean, and the unbiased covariance
// (np.cov, rowvar=False), in float64. pytorch-fid takes scipy's sqrtm of the non-symmetric product Σ1 Σ2 and
// drops the imaginary parts that rounding leaves. Here the trace comes from symmetric eigendecompositions
// only: with S = Σ1^½, Σ1 Σ2 = S (S Σ2) has the eigenvalues of S Σ2 S, which is symmetric positive
// semi-definite, so tr((Σ1 Σ2)^½) = Σ √λ(S Σ2 S). Eigenvalues that rounding pushes below zero (singular
// covariances: fewer samples than dimensions) are clamped to 0, so no ε needs adding to the diagonals.
import { type Tensor, check, fromTyped, noGrad, raw, tidy } from "../tensor/index.js";

export interface GaussianStats {
  /** Number of feature vectors the statistics come from. */
  n: number;
  dims: number;
  mu: Float64Array;
  /** dims × dims, row-major. */
  sigma: Float64Array;
}

/** Mean and unbiased covariance of features (N, D), N ≥ 2, in float64. */
export function gaussianStats(features: Tensor): GaussianStats {
  const [n, dims] = features.shape as [number, number];
  check(
    features.rank === 2 && n >= 2,
    () => `gaussianStats: expected features (N, D) with N ≥ 2 but got shape [${features.shape}]`,
  );
  return noGrad(() =>
    tidy(() => {
      const x = features.double();
      const mu = x.mean(0);
      const centred = x.sub(mu);
      const sigma = centred
        .t()
        .mm(centred)
        .div(n - 1);
      return { n, dims, mu: mu.data() as Float64Array, sigma: sigma.data() as Float64Array };
    }),
  );
}

/** Square root of a symmetric positive semi-definite matrix, by eigendecomposition (negative eigenvalues → 0). */
export function sqrtmPsd(a: Tensor): Tensor {
  return tidy(() => {
    const sym = a.add(a.t()).mul(0.5);
    const [values, vectors] = raw.linalgEigh(sym);
    return vectors.mul(values.clamp(0, null).sqrt()).mm(vectors.t()); // V diag(√λ) Vᵀ
  });
}

/** tr((Σ1 Σ2)^½) for symmetric PSD Σ1, Σ2 (see the header). */
export function traceSqrtProduct(s1: Tensor, s2: Tensor): number {
  return noGrad(() =>
    tidy(() => {
      const root = sqrtmPsd(s1);
      const m = root.mm(s2).mm(root);
      const [values] = raw.linalgEigh(m.add(m.t()).mul(0.5));
      return values.clamp(0, null).sqrt().sum().item();
    }),
  );
}

/** pytorch-fid's Fréchet distance between two sets of statistics of the same feature space. */
export function frechetDistance(a: GaussianStats, b: GaussianStats): number {
  check(a.dims === b.dims, () => `frechetDistance: feature dimensions differ (${a.dims} and ${b.dims})`);
  const d = a.dims;
  return noGrad(() =>
    tidy(() => {
      const mu1 = fromTyped(a.mu, [d]),
        mu2 = fromTyped(b.mu, [d]);
      const s1 = fromTyped(a.sigma, [d, d]),
        s2 = fromTyped(b.sigma, [d, d]);
      const diff = mu1.sub(mu2);
      const meanTerm = diff.mul(diff).sum().item();
      return meanTerm + raw.trace(s1).item() + raw.trace(s2).item() - 2 * traceSqrtProduct(s1, s2);
    }),
  );
}
