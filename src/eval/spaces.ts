// Feature spaces the distribution metrics are measured in: a lastframe feature net (offline: fd, kid, pr) or
// pytorch-fid's Inception (fid). Each has an id derived from its weights, which reference statistics record.
import path from "node:path";
import type { Tensor } from "../tensor/index.js";
import { type Images, extractFeatures } from "./features.js";
import { type TrainedFeatNet, featnetFeatures } from "./featnet-train.js";
import { featureDims } from "./featnets.js";
import { INCEPTION_DIMS, type InceptionWeights, inceptionInput } from "./inception.js";

export interface FeatureSpace {
  /** "featnet-cifar10", "inception". */
  name: string;
  /** Identifies the weights: the first 12 hex digits of their file's sha256. */
  id: string;
  dims: number;
  /** For feature-net spaces: the data set it classifies and its test accuracy. */
  featnet?: { data: string; accuracy: number };
  /** For Inception: the weights file, its sha256, and whether it is pytorch-fid's release file. */
  weights?: { weights: string; sha256: string; standard: boolean };
  extract(images: Images, progress?: boolean): Tensor;
  dispose(): void;
}

export function featnetSpace(f: TrainedFeatNet): FeatureSpace {
  return {
    name: `featnet-${f.info.data}`,
    id: f.info.id,
    dims: featureDims(f.info.config),
    featnet: { data: f.info.data, accuracy: f.info.accuracy },
    extract: (images, progress) => featnetFeatures(f, images, progress),
    dispose: () => f.net.dispose(),
  };
}

/** Peak memory of one image in the Inception forward pass, with every stage freed as the next one runs. */
const INCEPTION_BYTES_PER_IMAGE = 24 * 2 ** 20;

export function inceptionSpace(w: InceptionWeights): FeatureSpace {
  return {
    name: "inception",
    id: w.sha256.slice(0, 12),
    dims: INCEPTION_DIMS,
    weights: { weights: path.resolve(w.file), sha256: w.sha256, standard: w.standard },
    extract: (images, progress) =>
      extractFeatures(images, (x) => w.net.pool3(inceptionInput(x)), {
        label: "features (Inception pool3, 2048-d)",
        bytesPerImage: INCEPTION_BYTES_PER_IMAGE,
        progress,
      }),
    dispose: () => w.net.dispose(),
  };
}
