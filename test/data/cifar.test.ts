import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { loadDataset, parseCifarBin, DataError, CIFAR10_CLASSES, repoRoot } from "../../src/data/index.js";
import { histogram, makeTar, quiet, tempDir } from "./helpers.js";

/** n CIFAR records: label i % 10; R plane = label * 20, G plane = i, B plane = 255 - i, with a marker pixel. */
function records(n: number, start = 0): Buffer {
  const buf = Buffer.alloc(n * 3073);
  for (let k = 0; k < n; k++) {
    const i = start + k;
    const off = k * 3073;
    buf[off] = i % 10;
    buf.fill((i % 10) * 20, off + 1, off + 1 + 1024);
    buf.fill(i & 255, off + 1 + 1024, off + 1 + 2048);
    buf.fill(255 - (i & 255), off + 1 + 2048, off + 3073);
    buf[off + 1 + 33] = 7; // R at row 1, column 1
  }
  return buf;
}

function writeBatches(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "data_batch_1.bin"), records(12, 0));
  fs.writeFileSync(path.join(dir, "data_batch_2.bin"), records(8, 12));
  fs.writeFileSync(path.join(dir, "test_batch.bin"), records(5, 100));
  fs.writeFileSync(path.join(dir, "batches.meta.txt"), CIFAR10_CLASSES.join("\n") + "\n\n");
}

test("cifar binary batches: records become CHW images with labels, train batches in number order", async () => {
  const dir = path.join(tempDir("cifarbin"), "cifar-10-batches-bin");
  writeBatches(dir);
  const d = await loadDataset(dir, { ...quiet(), cache: false });
  assert.equal(d.info.format, "cifar-bin");
  assert.deepEqual([d.train.n, d.train.c, d.train.h, d.train.w], [20, 3, 32, 32]);
  assert.equal(d.test.n, 5);
  assert.deepEqual(d.train.classes, CIFAR10_CLASSES);
  assert.deepEqual(
    Array.from(d.train.labels!),
    Array.from({ length: 20 }, (_, i) => i % 10),
  );
  assert.deepEqual(Array.from(d.test.labels!), [0, 1, 2, 3, 4]);
  for (const i of [0, 13, 19]) {
    const img = d.train.images.subarray(i * 3072, (i + 1) * 3072);
    assert.equal(img[0], (i % 10) * 20, `R of image ${i}`);
    assert.equal(img[33], 7);
    assert.equal(img[1024 + 5], i);
    assert.equal(img[2048 + 1000], 255 - i);
  }
});

test("cifar binary inside a .tar.gz, as downloaded (cifar-10-binary.tar.gz), and resized to 16x16 grey", async () => {
  const dir = tempDir("cifartar");
  const batches = path.join(dir, "src");
  writeBatches(batches);
  const tar = makeTar([
    { name: "cifar-10-batches-bin", dir: true },
    ...["data_batch_1.bin", "data_batch_2.bin", "test_batch.bin", "batches.meta.txt"].map((f) => ({
      name: `cifar-10-batches-bin/${f}`,
      data: fs.readFileSync(path.join(batches, f)),
    })),
  ]);
  const file = path.join(dir, "cifar-10-binary.tar.gz");
  fs.writeFileSync(file, tar);
  const d = await loadDataset("cifar10", { ...quiet(), cache: false, path: file });
  assert.equal(d.info.format, "cifar-bin");
  assert.deepEqual([d.train.n, d.test.n], [20, 5]);
  const g = await loadDataset(file, { ...quiet(), cache: false, size: 16, channels: 1 });
  assert.deepEqual([g.train.n, g.train.c, g.train.h, g.train.w], [20, 1, 16, 16]);
  assert.deepEqual(Array.from(g.test.labels!), [0, 1, 2, 3, 4]);
});

test("cifar binary errors: wrong size, bad label, missing test batch", async () => {
  assert.throws(
    () => parseCifarBin(Buffer.alloc(3073 * 2 + 5), "data_batch_1.bin"),
    (e: Error) =>
      e instanceof DataError &&
      /data_batch_1\.bin has 6151 bytes, not a positive multiple of 3073/.test(e.message),
  );
  const bad = records(2);
  bad[3073] = 42;
  assert.throws(() => parseCifarBin(bad, "b.bin"), /b\.bin: record 1 has label 42/);
  const dir = path.join(tempDir("cifarbad"), "batches");
  writeBatches(dir);
  fs.appendFileSync(path.join(dir, "data_batch_2.bin"), Buffer.alloc(100));
  await assert.rejects(loadDataset(dir, { ...quiet(), cache: false }), /data_batch_2\.bin has 24684 bytes/);
  fs.writeFileSync(path.join(dir, "data_batch_2.bin"), records(1));
  fs.rmSync(path.join(dir, "test_batch.bin"));
  await assert.rejects(loadDataset(dir, { ...quiet(), cache: false }), /test_batch\.bin is missing/);
});

test("cifar10 from the shared JPEG tarball: 50,000 / 10,000, 5,000 per class (cached after the first run)", async () => {
  const file = path.resolve(repoRoot(), "../shared/datasets/cifar10-jpeg.tar.gz");
  assert.ok(fs.existsSync(file), `${file} is missing: the shared data sets are required for this test`);
  // Default cache folder, so that only the first run in a checkout pays for decoding 60,000 JPEGs.
  const d = await loadDataset("cifar10", { path: file, log: () => {} });
  assert.equal(d.info.format, "image-folder");
  assert.deepEqual([d.train.n, d.train.c, d.train.h, d.train.w], [50000, 3, 32, 32]);
  assert.equal(d.test.n, 10000);
  assert.equal(d.train.images.length, 50000 * 3072);
  assert.deepEqual(d.train.classes, CIFAR10_CLASSES);
  assert.deepEqual(Object.values(histogram(d.train.labels!)), Array(10).fill(5000));
  assert.deepEqual(Object.values(histogram(d.test.labels!)), Array(10).fill(1000));
  // Not blank: mean pixel of the training set is in a plausible range (CIFAR-10's is about 120).
  let sum = 0;
  const step = 997;
  let count = 0;
  for (let i = 0; i < d.train.images.length; i += step, count++) sum += d.train.images[i]!;
  const mean = sum / count;
  assert.ok(mean > 100 && mean < 140, `mean pixel ${mean}`);
  if (!d.info.fromCache) console.log(`# cifar10 prepared in ${(d.info.ms / 1000).toFixed(1)} s`);
  const t = performance.now();
  const again = await loadDataset("cifar10", { path: file, log: () => {} });
  const ms = performance.now() - t;
  assert.equal(again.info.fromCache, true);
  assert.ok(ms < 5000, `cached load took ${ms.toFixed(0)} ms`);
  assert.deepEqual(again.test.labels, d.test.labels);
});

test("named data sets are looked up in $LASTFRAME_DATA first; a missing one is a DataError listing the places", async () => {
  const root = tempDir("dataroot");
  writeBatches(path.join(root, "cifar-10-batches-bin"));
  const saved = process.env.LASTFRAME_DATA;
  process.env.LASTFRAME_DATA = root;
  try {
    const d = await loadDataset("cifar10", { ...quiet(), cache: false });
    assert.equal(d.info.source, path.join(root, "cifar-10-batches-bin"));
    assert.equal(d.train.n, 20);
  } finally {
    if (saved === undefined) delete process.env.LASTFRAME_DATA;
    else process.env.LASTFRAME_DATA = saved;
  }
  await assert.rejects(
    loadDataset("celeba64", { ...quiet(), path: path.join(root, "no-such-dir") }),
    /Data path .*no-such-dir does not exist/,
  );
});
