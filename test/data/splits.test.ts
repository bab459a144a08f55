// Which split commands read when a data set lacks one: defaultSplit and withTestSplit (src/data/splits.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DataError,
  defaultSplit,
  holdOutValidation,
  withTestSplit,
  type ImageSet,
  type SplitData,
} from "../../src/data/index.js";
import { pickIndices } from "../../src/data/common.js";

function data(n: number, testN = 0): SplitData {
  const set = (k: number, base: number): ImageSet => ({
    images: Uint8Array.from({ length: k * 4 }, (_, i) => (base + Math.floor(i / 4) * 7) % 256),
    n: k,
    c: 1,
    h: 2,
    w: 2,
    labels: Int32Array.from({ length: k }, (_, i) => (base + i) % 3),
    classes: ["a", "b", "c"],
  });
  const info = { source: "/data/plain", format: "image-folder" as const, fromCache: false, cacheFile: null };
  return {
    name: "plain",
    train: set(n, 0),
    test: set(testN, 100),
    info: { ...info, skipped: [], ignored: 0, ms: 0 },
  };
}

test("defaultSplit: test, or train when there is no test split", () => {
  assert.equal(defaultSplit(data(5, 2)), "test");
  assert.equal(defaultSplit(data(5)), "train");
});

test("withTestSplit holds out a tenth of a plain folder, the same images every time, with their labels", () => {
  const withTest = data(5, 2);
  assert.equal(withTestSplit(withTest), withTest);
  const d = data(25);
  const a = withTestSplit(d);
  const b = withTestSplit(data(25));
  assert.deepEqual([a.train.n, a.test.n], [22, 3]);
  assert.deepEqual(a.test.images, b.test.images);
  assert.deepEqual(a.test.labels, b.test.labels);
  // Every image lands on exactly one side, each with its own label.
  const key = (s: ImageSet, i: number) => `${s.images[i * 4]}:${s.labels![i]}`;
  const sides = [a.train, a.test].flatMap((s) => Array.from({ length: s.n }, (_, i) => key(s, i)));
  const all = Array.from({ length: 25 }, (_, i) => key(d.train, i));
  assert.deepEqual(sides.sort(), all.sort());
  // Three images still give one test image; one image cannot be split.
  assert.deepEqual([withTestSplit(data(3)).train.n, withTestSplit(data(3)).test.n], [2, 1]);
  assert.throws(
    () => withTestSplit(data(1)),
    (e: Error) =>
      e instanceof DataError &&
      e.message ===
        "/data/plain has 1 image(s) and no test split: training and evaluation need at least 2 (one is held out as test)",
  );
});

/** n images per class of 10 classes (CIFAR-10's count), pixel value = index mod 256, labels as `label(i)`. */
function labelled(n: number, label: (i: number) => number): ImageSet {
  return {
    images: Uint8Array.from({ length: n }, (_, i) => i % 256),
    n,
    c: 1,
    h: 1,
    w: 1,
    labels: Int32Array.from({ length: n }, (_, i) => label(i)),
    classes: Array.from({ length: 10 }, (_, k) => `class${k}`),
  };
}

const histogram = (s: ImageSet) => {
  const h = new Array<number>(10).fill(0);
  for (const l of s.labels!) h[l]!++;
  return h;
};

test("holdOutValidation: a class-sorted train split (the CIFAR-10 JPEG tree) gives a near-uniform validation split", () => {
  // 5,000 images a class stored class by class, as train/<class>/NNNN.jpg loads; the lowdata budget's 1,000.
  const sorted = labelled(50_000, (i) => Math.floor(i / 5000));
  const { train, validation } = holdOutValidation(sorted, 1000);
  assert.deepEqual(histogram(validation), new Array(10).fill(100));
  assert.equal(train.n, 49_000);
  assert.deepEqual(histogram(train), new Array(10).fill(4900));
  // The two parts are disjoint and together the whole split (images carry their index mod 256).
  const seen = [...train.labels!].map((l, i) => l * 1e6 + train.images[i]!);
  seen.push(...[...validation.labels!].map((l, i) => l * 1e6 + validation.images[i]!));
  const whole = [...sorted.labels!].map((l, i) => l * 1e6 + sorted.images[i]!);
  assert.deepEqual(seen.sort(), whole.sort());
  // A seeded choice: the same images every time, not simply each class's last 100.
  assert.deepEqual(holdOutValidation(sorted, 1000).validation.images, validation.images);
  assert.notDeepEqual([...validation.images.subarray(0, 100)], [...sorted.images.subarray(4900, 5000)]);
  // A count that does not divide: classes differ by at most one.
  const h = histogram(holdOutValidation(sorted, 1005).validation);
  assert.ok(Math.max(...h) - Math.min(...h) <= 1 && h.reduce((a, b) => a + b) === 1005, String(h));
});

test("holdOutValidation: a source in no class order (MNIST) keeps its last images, so recorded runs keep their split", () => {
  const mixed = labelled(600, (i) => (i * 7) % 10);
  const { train, validation } = holdOutValidation(mixed, 32);
  assert.deepEqual([...validation.images], [...mixed.images.subarray(568)]);
  assert.deepEqual([...train.images], [...mixed.images.subarray(0, 568)]);
  assert.deepEqual([...validation.labels!], [...mixed.labels!.subarray(568)]);
});

test("--data-limit on a class-sorted folder takes evenly spaced images: every class equally (pickIndices)", () => {
  const label = (i: number) => Math.floor(i / 5000);
  for (const limit of [1000, 250, 37]) {
    const h = new Array<number>(10).fill(0);
    for (const i of pickIndices(50_000, limit)) h[label(i)]!++;
    assert.ok(Math.max(...h) - Math.min(...h) <= 1, `limit ${limit}: ${h.join(",")}`);
  }
});
