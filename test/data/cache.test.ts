import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  loadDataset,
  readCache,
  writeCache,
  CACHE_FORMAT_VERSION,
  type SplitData,
} from "../../src/data/index.js";
import { tempDir } from "./helpers.js";
import { writeFileAtomicAsync as writeFileAtomic } from "../../src/util/atomic.js";

function sample(): SplitData {
  const train = {
    images: Uint8Array.from({ length: 3 * 2 * 4 * 5 }, (_, i) => i % 251),
    n: 3,
    c: 2,
    h: 4,
    w: 5,
    labels: Int32Array.from([7, -1, 123456]),
    classes: ["a", "b"],
  };
  const test = { images: new Uint8Array(0), n: 0, c: 2, h: 4, w: 5, labels: null, classes: null };
  const valid = {
    images: new Uint8Array(40).fill(9),
    n: 1,
    c: 2,
    h: 4,
    w: 5,
    labels: Int32Array.from([1]),
    classes: null,
  };
  return {
    name: "sample",
    train,
    test,
    valid,
    info: {
      source: "/x",
      format: "image-folder",
      fromCache: false,
      cacheFile: null,
      skipped: ["/x/bad.png"],
      ignored: 2,
      ms: 1,
    },
  };
}

test("cache: round trip keeps images, labels, classes, splits and info", async () => {
  const file = path.join(tempDir("cache"), "sub", "sample.lfd");
  await writeCache(file, "key-1", sample());
  const got = await readCache(file, "key-1");
  assert.equal(got.status, "hit");
  if (got.status !== "hit") return;
  const d = got.data;
  const s = sample();
  assert.deepEqual(d.train, s.train);
  assert.deepEqual(d.test, s.test);
  assert.deepEqual(d.valid, s.valid);
  assert.equal(d.name, "sample");
  assert.deepEqual(d.info.skipped, ["/x/bad.png"]);
  assert.equal(d.info.fromCache, true);
  assert.equal(d.info.cacheFile, file);
  assert.equal(d.train.images.byteOffset, 0);
  assert.deepEqual(await readCache(file, "key-2"), {
    status: "stale",
    reason: "it was made from other data or settings",
  });
  assert.deepEqual(await readCache(file + ".none", "key-1"), { status: "missing" });
  // Truncated file: stale, not a crash.
  const bytes = fs.readFileSync(file);
  fs.writeFileSync(file, bytes.subarray(0, bytes.length - 10));
  const trunc = await readCache(file, "key-1");
  assert.equal(trunc.status, "stale");
});

test("cache: a file from another format version is reported and rebuilt by loadDataset", async () => {
  const root = tempDir("cachever");
  const images = path.join(root, "imgs");
  fs.mkdirSync(images);
  // A tiny idx data set (fast to prepare).
  const head = (dims: number[]) => {
    const b = Buffer.alloc(4 + 4 * dims.length);
    b[2] = 8;
    b[3] = dims.length;
    dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
    return b;
  };
  fs.writeFileSync(
    path.join(images, "train-images-idx3-ubyte"),
    Buffer.concat([head([2, 2, 2]), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])]),
  );
  fs.writeFileSync(
    path.join(images, "train-labels-idx1-ubyte"),
    Buffer.concat([head([2]), Buffer.from([0, 1])]),
  );
  fs.writeFileSync(
    path.join(images, "t10k-images-idx3-ubyte"),
    Buffer.concat([head([1, 2, 2]), Buffer.from([9, 9, 9, 9])]),
  );
  fs.writeFileSync(path.join(images, "t10k-labels-idx1-ubyte"), Buffer.concat([head([1]), Buffer.from([1])]));
  const cacheDir = path.join(root, "cache");
  const messages: string[] = [];
  const opts = { cacheDir, progress: false as const, log: (m: string) => messages.push(m) };
  const first = await loadDataset(images, opts);
  assert.equal(first.info.fromCache, false);
  const file = first.info.cacheFile!;
  assert.ok(file.startsWith(cacheDir) && fs.existsSync(file));
  assert.deepEqual(fs.readdirSync(cacheDir), [path.basename(file)]);
  const second = await loadDataset(images, opts);
  assert.equal(second.info.fromCache, true);
  assert.deepEqual(second.train.images, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
  assert.deepEqual(messages, []);

  // Pretend the file was written by another version of the format.
  const fd = fs.openSync(file, "r+");
  const v = Buffer.alloc(4);
  v.writeUInt32LE(CACHE_FORMAT_VERSION + 1, 0);
  fs.writeSync(fd, v, 0, 4, 8);
  fs.closeSync(fd);
  const third = await loadDataset(images, opts);
  assert.equal(third.info.fromCache, false);
  assert.equal(messages.length, 1);
  assert.match(
    messages[0]!,
    new RegExp(
      `cache .* is out of date: it has cache format version ${CACHE_FORMAT_VERSION + 1}, this lastframe uses ${CACHE_FORMAT_VERSION}; rebuilding`,
    ),
  );
  assert.equal((await loadDataset(images, opts)).info.fromCache, true);

  // Changed source data (size/mtime) or other options: another key, prepared again.
  fs.writeFileSync(
    path.join(images, "t10k-images-idx3-ubyte"),
    Buffer.concat([head([1, 2, 2]), Buffer.from([8, 8, 8, 8])]),
  );
  const changed = await loadDataset(images, opts);
  assert.equal(changed.info.fromCache, false);
  assert.deepEqual(changed.test.images, Uint8Array.from([8, 8, 8, 8]));
  assert.equal((await loadDataset(images, { ...opts, limit: 1 })).info.fromCache, false);
  assert.equal((await loadDataset(images, { ...opts, limit: 1 })).info.fromCache, true);
  assert.equal((await loadDataset(images, { ...opts, cache: false })).info.cacheFile, null);
  // No temporary files left behind.
  assert.ok(fs.readdirSync(cacheDir).every((f) => f.endsWith(".lfd")));
});

test("writeFileAtomic: a failure part-way leaves neither a partial file nor a temporary file", async () => {
  const dir = tempDir("atomic");
  const file = path.join(dir, "out.bin");
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield new Uint8Array(1 << 20).fill(1);
    throw new Error("disk on fire");
  }
  await assert.rejects(writeFileAtomic(file, failing()), /disk on fire/);
  assert.deepEqual(fs.readdirSync(dir), []);
  // An existing file is kept intact when a rewrite fails.
  await writeFileAtomic(file, [Buffer.from("old")]);
  await assert.rejects(writeFileAtomic(file, failing()), /disk on fire/);
  assert.deepEqual(fs.readdirSync(dir), ["out.bin"]);
  assert.equal(fs.readFileSync(file, "utf8"), "old");
  await writeFileAtomic(file, [Buffer.from("n"), Buffer.from("ew")]);
  assert.equal(fs.readFileSync(file, "utf8"), "new");
  // writeCache with inconsistent sizes fails before writing anything.
  const bad = sample();
  bad.train.n = 4;
  await assert.rejects(writeCache(path.join(dir, "bad.lfd"), "k", bad), /Cannot cache sample\/train/);
  assert.deepEqual(fs.readdirSync(dir), ["out.bin"]);
});

test("$LASTFRAME_CACHE sets the cache root; data goes in its data/ folder", async () => {
  const root = tempDir("cacheenv");
  const dir = path.join(root, "ds");
  fs.mkdirSync(dir);
  // One-record CIFAR binary batches: the quickest data set to write by hand.
  const rec = Buffer.alloc(3073);
  rec[0] = 3;
  fs.writeFileSync(path.join(dir, "data_batch_1.bin"), rec);
  fs.writeFileSync(path.join(dir, "test_batch.bin"), rec);
  const saved = process.env.LASTFRAME_CACHE;
  process.env.LASTFRAME_CACHE = path.join(root, "cache-here");
  try {
    const d = await loadDataset(dir, { progress: false, log: () => {} });
    assert.ok(
      d.info.cacheFile!.startsWith(path.join(root, "cache-here", "data") + path.sep),
      d.info.cacheFile!,
    );
    assert.equal((await loadDataset(dir, { progress: false })).info.fromCache, true);
  } finally {
    if (saved === undefined) delete process.env.LASTFRAME_CACHE;
    else process.env.LASTFRAME_CACHE = saved;
  }
});
