// Which split commands read when a data set lacks one: defaultSplit and withTestSplit (src/data/splits.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DataError,
  defaultSplit,
  withTestSplit,
  type ImageSet,
  type SplitData,
} from "../../src/data/index.js";

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
