// Reference statistics: the features of a data set's images in a feature space, with their mean and
// covariance, cached (safetensors) with their provenance: which images (data set, split, count and the sha256
// of their pixels) and which feature space (name and weights id). A cache entry is used only when all of these
// match, so a changed data set or retrained feature net is recomputed, never silently reused.
import { existsSync } from "node:fs";
import { type ImageSet, type SplitData } from "../data/index.js";
import { loadSafetensors, saveSafetensors } from "../nn/index.js";
import { type Tensor, dispose, fromTyped, keep, torchVersion } from "../tensor/index.js";
import type { Images } from "./features.js";
import { type GaussianStats, gaussianStats } from "./frechet.js";
import type { FeatureSpace } from "./spaces.js";
import { sha256, statsFile } from "./store.js";

export interface ReferenceSet {
  data: string;
  split: "train" | "test";
  images: Images;
  /** sha256 of the images' pixels. */
  sha256: string;
}

export interface Provenance {
  data: string;
  split: string;
  n: number;
  space: string;
  spaceId: string;
  dataSha256: string;
  createdAt: string;
  torch: string;
}

export interface Reference {
  /** (N, D) float32, kept: the caller disposes it. */
  features: Tensor;
  stats: GaussianStats;
  provenance: Provenance;
  file: string;
  fromCache: boolean;
}

/** `n` images spread evenly over a split (class-sorted folders stay balanced), or all of it. */
export function chooseReference(d: SplitData, split: "train" | "test", n?: number): ReferenceSet {
  const set: ImageSet = d[split];
  const k = Math.min(n ?? set.n, set.n);
  const per = set.c * set.h * set.w;
  let images = set.images;
  if (k < set.n) {
    images = new Uint8Array(k * per);
    for (let i = 0; i < k; i++) {
      const j = Math.floor((i * set.n) / k);
      images.set(set.images.subarray(j * per, (j + 1) * per), i * per);
    }
  }
  return {
    data: d.name,
    split,
    images: { images, n: k, c: set.c, h: set.h, w: set.w },
    sha256: sha256(images),
  };
}

/** Reference features and statistics in `space`, from the cache when its provenance matches, else computed. */
export function referenceStats(
  space: FeatureSpace,
  ref: ReferenceSet,
  o: { progress?: boolean; cache?: boolean } = {},
): Reference {
  const file = statsFile(ref.data, ref.split, space.name, ref.images.n);
  const wanted = {
    data: ref.data,
    split: ref.split,
    n: ref.images.n,
    space: space.name,
    spaceId: space.id,
    dataSha256: ref.sha256,
  };
  if ((o.cache ?? true) && existsSync(file)) {
    const { tensors, metadata } = loadSafetensors(file);
    const provenance = JSON.parse(metadata.provenance ?? "{}") as Provenance;
    const features = tensors.get("features");
    if (features && Object.entries(wanted).every(([k, v]) => provenance[k as keyof Provenance] === v)) {
      tensors.delete("features");
      const mu = tensors.get("mu")!.data() as Float64Array;
      const sigma = tensors.get("sigma")!.data() as Float64Array;
      dispose(tensors);
      return {
        features: keep(features),
        stats: { n: ref.images.n, dims: space.dims, mu, sigma },
        provenance,
        file,
        fromCache: true,
      };
    }
    dispose(tensors);
  }
  const features = keep(space.extract(ref.images, o.progress));
  const stats = gaussianStats(features);
  const provenance: Provenance = { ...wanted, createdAt: new Date().toISOString(), torch: torchVersion() };
  if (o.cache ?? true) {
    const mu = fromTyped(stats.mu, [stats.dims]),
      sigma = fromTyped(stats.sigma, [stats.dims, stats.dims]);
    try {
      saveSafetensors(
        file,
        new Map([
          ["features", features],
          ["mu", mu],
          ["sigma", sigma],
        ]),
        { provenance: JSON.stringify(provenance) },
      );
    } finally {
      dispose([mu, sigma]);
    }
  }
  return { features, stats, provenance, file, fromCache: false };
}
