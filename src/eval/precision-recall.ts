// Improved precision and recall (Kynkäänniemi et al. 2019): each set's manifold is the union of balls around its
// samples, each ball's radius the distance to the sample's k-th nearest neighbour in its own set (k = 3).
// Precision: the fraction of generated samples inside the real manifold (fidelity); recall: the fraction of real
// samples inside the generated manifold (diversity). Distances are computed in blocks so that memory stays
// bounded (block × N floats) for any set size.
import { type Tensor, cat, cdist, check, noGrad, raw, tidy } from "../tensor/index.js";

export interface PrecisionRecall {
  precision: number;
  recall: number;
  k: number;
}

const BLOCK = 1024;

/** Distance from each row of `points` to its k-th nearest neighbour among the other rows. */
export function kthNeighbourRadii(points: Tensor, k: number): Tensor {
  check(
    points.size(0) > k,
    () => `kthNeighbourRadii: need more than k=${k} samples but got ${points.size(0)}`,
  );
  return tidy(() => {
    const radii: Tensor[] = [];
    for (let start = 0; start < points.size(0); start += BLOCK) {
      const block = points.narrow(0, start, Math.min(BLOCK, points.size(0) - start));
      // The k+1 smallest distances include the point itself (distance 0).
      const [nearest] = cdist(block, points).topk(k + 1, 1, false, true);
      radii.push(nearest.select(1, k));
    }
    return cat(radii);
  });
}

/** Fraction of `queries` within the radius of at least one of `centres`. */
function fractionInside(queries: Tensor, centres: Tensor, radii: Tensor): number {
  return tidy(() => {
    let inside = 0;
    for (let start = 0; start < queries.size(0); start += BLOCK) {
      const block = queries.narrow(0, start, Math.min(BLOCK, queries.size(0) - start));
      inside += raw
        .anyDim(cdist(block, centres).le(radii.unsqueeze(0)), 1)
        .sum()
        .item();
    }
    return inside / queries.size(0);
  });
}

/** The paper's k: each sample's ball reaches its 3rd nearest neighbour, so a set needs at least 4 samples. */
export const PR_NEIGHBOURS = 3;

/** Precision and recall of generated features (M, D) against real features (N, D). */
export function precisionRecall(real: Tensor, fake: Tensor, k = PR_NEIGHBOURS): PrecisionRecall {
  check(
    real.size(1) === fake.size(1),
    () => `precisionRecall: feature dimensions differ (${real.size(1)} and ${fake.size(1)})`,
  );
  return noGrad(() =>
    tidy(() => {
      const r = real.float(),
        f = fake.float();
      return {
        precision: fractionInside(f, r, kthNeighbourRadii(r, k)),
        recall: fractionInside(r, f, kthNeighbourRadii(f, k)),
        k,
      };
    }),
  );
}
