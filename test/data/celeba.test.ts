// CelebA tests use synthetic images only (no real faces in fixtures); the shared CelebA subset is read in place.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { loadDataset, repoRoot } from "../../src/data/index.js";
import { quiet, tempDir } from "./helpers.js";

/** 178x218 image: red everywhere except the standard 140x140 crop window at (19, 39), which is green + `tag`. */
async function synthetic(tag: number): Promise<Buffer> {
  const w = 178;
  const h = 218;
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inside = x >= 19 && x < 159 && y >= 39 && y < 179;
      const p = (y * w + x) * 3;
      raw[p] = inside ? 0 : 255;
      raw[p + 1] = inside ? 200 : 0;
      raw[p + 2] = inside ? tag : 0;
    }
  }
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
}

test("celeba64: crop window, 64x64 output, split by file number, identity labels", async () => {
  const root = tempDir("celeba");
  const dir = path.join(root, "img_align_celeba");
  fs.mkdirSync(dir);
  const numbers = [1, 162770, 162771, 182637, 182638, 202599, 202600];
  for (const [i, num] of numbers.entries()) {
    fs.writeFileSync(path.join(dir, `${String(num).padStart(6, "0")}.png`), await synthetic(i * 10));
  }
  fs.writeFileSync(
    path.join(root, "identity.txt"),
    numbers.map((n, i) => `${String(n).padStart(6, "0")}.png ${100 + i}`).join("\n") + "\n",
  );
  const d = await loadDataset("celeba64", { ...quiet(), cache: false, path: root });
  assert.equal(d.info.format, "celeba");
  assert.equal(d.info.ignored, 1); // 202600 is past the official range
  assert.deepEqual([d.train.n, d.valid?.n, d.test.n], [2, 2, 2]);
  assert.deepEqual([d.train.c, d.train.h, d.train.w], [3, 64, 64]);
  assert.deepEqual(Array.from(d.train.labels!), [100, 101]);
  assert.deepEqual(Array.from(d.valid!.labels!), [102, 103]);
  assert.deepEqual(Array.from(d.test.labels!), [104, 105]);
  // Every output pixel comes from inside the crop window: no red anywhere, full green.
  const hw = 64 * 64;
  for (const s of [d.train, d.valid!, d.test]) {
    for (let i = 0; i < s.n; i++) {
      const base = i * 3 * hw;
      const r = s.images.subarray(base, base + hw);
      const g = s.images.subarray(base + hw, base + 2 * hw);
      assert.equal(Math.max(...r), 0);
      assert.equal(Math.min(...g), 200);
    }
  }
  assert.equal(d.test.images[2 * hw + 5], 40); // blue plane of 182638 carries its tag

  // Pointing at the img_align_celeba folder itself works too; size is adjustable.
  const small = await loadDataset(dir, { ...quiet(), cache: false, size: 32 });
  assert.equal(small.info.format, "celeba");
  assert.deepEqual([small.train.n, small.train.h, small.train.labels], [2, 32, null]);
});

test("celeba64 from the shared subset tarball (limited)", async () => {
  const file = path.resolve(repoRoot(), "../shared/datasets/celeba-subset.tar.gz");
  assert.ok(fs.existsSync(file), `${file} is missing: the shared data sets are required for this test`);
  const d = await loadDataset("celeba64", { ...quiet(tempDir("celebacache")), path: file, limit: 40 });
  assert.deepEqual([d.train.n, d.valid?.n, d.test.n], [40, 40, 40]);
  assert.deepEqual([d.train.c, d.train.h, d.train.w], [3, 64, 64]);
  // Identity numbers from identity.txt: real CelebA identities are 1..10177.
  for (const s of [d.train, d.valid!, d.test])
    for (const id of s.labels!) assert.ok(id >= 1 && id <= 10177, `id ${id}`);
  // Faces are not blank: per-image pixel spread is large.
  const img = d.train.images.subarray(0, 3 * 64 * 64);
  assert.ok(Math.max(...img) - Math.min(...img) > 100);
});
