// Which split a command reads, for data sets that may lack one: a plain image folder (no train/ and test/
// sub-folders) loads with every image in train and an empty test split.
//   - Commands that read one split (video, stats, eval of an image folder) take `defaultSplit`: test, or train
//     when the data has no test split, so a plain folder is used whole.
//   - Commands that need both (train, sample, eval of a run, featnet) take `withTestSplit`: when the test split
//     is empty, a tenth of train is held out as test, chosen by a hash of each image's pixels. The choice
//     depends only on the images, so training and a later eval of the run hold out the same ones, and
//     duplicate images sort next to each other.
import { DataError } from "../errors.js";
import { fnv1a } from "./common.js";
import type { ImageSet, SplitData } from "./types.js";

/** Share of a plain folder's images held out as test by withTestSplit (at least one image). */
const HELD_OUT_FRACTION = 0.1;

export function defaultSplit(data: SplitData): "train" | "test" {
  return data.test.n > 0 ? "test" : "train";
}

function subset(set: ImageSet, indices: number[]): ImageSet {
  const per = set.c * set.h * set.w;
  const images = new Uint8Array(indices.length * per);
  indices.forEach((j, i) => images.set(set.images.subarray(j * per, (j + 1) * per), i * per));
  const labels = set.labels ? Int32Array.from(indices, (j) => set.labels![j]!) : null;
  return { ...set, images, n: indices.length, labels };
}

/** `data` itself when it has a test split; else train split deterministically into train and test. */
export function withTestSplit(data: SplitData): SplitData {
  if (data.test.n > 0) return data;
  const { train } = data;
  if (train.n < 2)
    throw new DataError(
      `${data.info.source} has ${train.n} image(s) and no test split: training and evaluation need at least 2 ` +
        "(one is held out as test)",
    );
  const per = train.c * train.h * train.w;
  const order = Array.from({ length: train.n }, (_, i) => i);
  const hash = order.map((i) => fnv1a(train.images.subarray(i * per, (i + 1) * per)));
  order.sort((a, b) => hash[a]! - hash[b]! || a - b);
  const k = Math.max(1, Math.round(HELD_OUT_FRACTION * train.n));
  const test = order.slice(0, k).sort((a, b) => a - b);
  const rest = order.slice(k).sort((a, b) => a - b);
  return { ...data, train: subset(train, rest), test: subset(train, test) };
}
