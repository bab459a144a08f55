// Which split a command reads, for data sets that may lack one: a plain image folder (no train/ and test/
// sub-folders) loads with every image in train and an empty test split.
//   - Commands that read one split (video, stats, eval of an image folder) take `defaultSplit`: test, or train
//     when the data has no test split, so a plain folder is used whole.
//   - Commands that need both (train, sample, eval of a run, featnet) take `withTestSplit`: when the test split
//     is empty, a tenth of train is held out as test, chosen by a hash of each image's pixels. The choice
//     depends only on the images, so training and a later eval of the run hold out the same ones, and
//     duplicate images sort next to each other.
import { DataError } from "../errors.js";
import { mulberry32, permutation } from "../util/random.js";
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

/** Images [start, start + n) of a set (views, no copy). */
function sliceSet(set: ImageSet, start: number, n: number): ImageSet {
  const per = set.c * set.h * set.w;
  return {
    ...set,
    n,
    images: set.images.subarray(start * per, (start + n) * per),
    labels: set.labels ? set.labels.subarray(start, start + n) : null,
  };
}

/** True when the labels never decrease and name more than one class: a source stored class by class (an image
 * folder train/<class>/…, such as the CIFAR-10 JPEG archive), whose last images are all one class. */
function classSorted(set: ImageSet): boolean {
  const l = set.labels;
  if (!l || set.n < 2 || l[0] === l[set.n - 1]) return false;
  for (let i = 1; i < set.n; i++) if (l[i]! < l[i - 1]!) return false;
  return true;
}

// Seeds the validation choice of class-sorted sources: fixed, so training, resuming and evaluating a run hold out
// the same images.
const VALIDATION_SEED = 0x5eed;

/**
 * `v` images of a train split held out as validation. A source in no class order (MNIST, Fashion-MNIST, CIFAR-10's
 * binary batches) gives its last `v` images, as it always has, so recorded runs keep their split. A class-sorted
 * source would give mostly one class that way, so it gives a stratified choice instead: each class's images in a
 * seeded order, dealt class by class, so every class holds `v / classes` images (± 1). Both parts keep the data's
 * order.
 */
export function holdOutValidation(set: ImageSet, v: number): { train: ImageSet; validation: ImageSet } {
  if (!classSorted(set))
    return { train: sliceSet(set, 0, set.n - v), validation: sliceSet(set, set.n - v, v) };
  const rng = mulberry32(VALIDATION_SEED);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < set.n; i++) {
    const c = set.labels![i]!;
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(i);
  }
  const queues = [...byClass.values()].map((ix) => Array.from(permutation(rng, ix.length), (j) => ix[j]!));
  const held = new Set<number>();
  for (let round = 0; held.size < v; round++)
    for (const q of queues) if (round < q.length && held.size < v) held.add(q[round]!);
  const all = Array.from({ length: set.n }, (_, i) => i);
  return {
    train: subset(
      set,
      all.filter((i) => !held.has(i)),
    ),
    validation: subset(
      set,
      all.filter((i) => held.has(i)),
    ),
  };
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
