// The batch loader (src/data/loader.ts): pixel mapping and padding, seeded epochs that are permutations,
// flips, and a position that resumes exactly.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BatchLoader, epochOrder, forEachBatch, toFloat } from "../../src/data/loader.js";
import type { ImageSet } from "../../src/data/types.js";
import { tidy } from "../../src/tensor/index.js";

/** n 1×2×3 images whose pixels all equal the image's index (so a batch reveals which images it holds). */
function indexed(n: number): ImageSet {
  const images = new Uint8Array(n * 6);
  for (let i = 0; i < n; i++) images.fill(i, i * 6, (i + 1) * 6);
  return { images, n, c: 1, h: 2, w: 3, labels: null, classes: null };
}

/** The image indices of a batch (B, 1, h, w) of an `indexed` set, read from a pixel inside the padding. */
function ids(loader: BatchLoader, pad = 0): number[] {
  return tidy(() => {
    const x = loader.next();
    return x.select(1, 0).select(1, pad).select(1, pad).add(1).mul(127.5).round().toArray();
  });
}

test("toFloat maps 0 → −1 and 255 → 1 and pads with −1", () => {
  const bytes = new Uint8Array([0, 255, 51, 204]);
  tidy(() => {
    const x = toFloat(bytes, { n: 1, c: 1, h: 2, w: 2 }, 1);
    assert.deepEqual(x.shape, [1, 1, 4, 4]);
    const v = x.toArray();
    assert.deepEqual(v.slice(0, 4), [-1, -1, -1, -1]);
    assert.deepEqual(
      [v[5], v[6], v[9], v[10]].map((a) => Math.round(a! * 1e5) / 1e5),
      [-1, 1, -0.6, 0.6],
    );
  });
});

test("each epoch is a seeded permutation: every image once, a new order per epoch and per seed", () => {
  const a = epochOrder(1000, 7, 0).order,
    b = epochOrder(1000, 7, 0).order;
  assert.deepEqual(a, b);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  assert.notDeepEqual(epochOrder(1000, 7, 1).order, a);
  assert.notDeepEqual(epochOrder(1000, 8, 0).order, a);
  const loader = new BatchLoader(indexed(10), { batch: 3, seed: 1 });
  const epoch0 = [...ids(loader), ...ids(loader), ...ids(loader)];
  assert.equal(
    new Set(epoch0).size,
    9,
    "3 full batches of distinct images; the 10th image waits (last partial batch dropped)",
  );
  assert.deepEqual(loader.state(), { epoch: 0, batch: 3 });
  ids(loader);
  assert.deepEqual(loader.state(), { epoch: 1, batch: 1 });
});

test("a restored position continues with exactly the batches an uninterrupted loader draws", () => {
  const set = indexed(20);
  const straight = new BatchLoader(set, { batch: 4, seed: 3, pad: 2 });
  const want = Array.from({ length: 12 }, () => ids(straight, 2));
  const first = new BatchLoader(set, { batch: 4, seed: 3, pad: 2 });
  const got = Array.from({ length: 7 }, () => ids(first, 2));
  const resumed = new BatchLoader(set, { batch: 4, seed: 3, pad: 2 });
  resumed.restore(JSON.parse(JSON.stringify(first.state())));
  got.push(...Array.from({ length: 5 }, () => ids(resumed, 2)));
  assert.deepEqual(got, want);
  assert.throws(() => resumed.restore({ epoch: 0, batch: 9 }), {
    message:
      'Expected {epoch, batch} with batch ≤ 5 for loader state but received "{\\"epoch\\":0,\\"batch\\":9}" (string)',
  });
});

test("flips mirror about half of the images left-right, the same ones for the same seed", () => {
  // 1×1×2 images [2i, 2i + 1]: an image reads left > right exactly when it was flipped.
  const n = 100;
  const images = new Uint8Array(n * 2);
  for (let i = 0; i < n; i++) images.set([2 * i, 2 * i + 1], 2 * i);
  const set: ImageSet = { images, n, c: 1, h: 1, w: 2, labels: null, classes: null };
  const flips = (seed: number) =>
    tidy(() => {
      const x = new BatchLoader(set, { batch: n, seed, flip: true }).next().reshape(n, 2).toArray();
      return Array.from({ length: n }, (_, i) => x[2 * i]! > x[2 * i + 1]!);
    });
  const a = flips(5);
  assert.deepEqual(flips(5), a);
  assert.notDeepEqual(flips(6), a);
  const count = a.filter(Boolean).length;
  assert.ok(count > 30 && count < 70, `flipped ${count} of ${n}`);
});

test("forEachBatch visits the first `limit` images in order, the last batch partial", () => {
  const seen: number[][] = [];
  forEachBatch(indexed(10), { batch: 4, limit: 9 }, (x, n) => {
    assert.equal(x.size(0), n);
    seen.push(x.select(1, 0).select(1, 0).select(1, 0).add(1).mul(127.5).round().toArray());
  });
  assert.deepEqual(seen, [[0, 1, 2, 3], [4, 5, 6, 7], [8]]);
});

test("bad options name the option", () => {
  assert.throws(() => new BatchLoader(indexed(5), { batch: 0, seed: 0 }), {
    message: "Expected positive integer for batch but received 0 (number)",
  });
  assert.throws(() => new BatchLoader(indexed(5), { batch: 6, seed: 0 }), {
    message: "Expected a batch size of at most the 5 images in the set for batch but received 6 (number)",
  });
});
