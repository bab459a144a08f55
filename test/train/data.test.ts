// What the model trains and is evaluated on (src/train/data.ts), and the separate RNG stream of evals/samples.
import assert from "node:assert/strict";
import { test } from "node:test";
import { manualSeed, rand, randn, tidy } from "../../src/tensor/index.js";
import { resolveRunConfig } from "../../src/train/config.js";
import {
  evaluationVideos,
  lastFrames,
  loadRunData,
  quantise,
  trainingVideos,
  withRng,
} from "../../src/train/data.js";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";

const images = () => rand([3, 1, 8, 8]).mul(255).round().div(127.5).sub(1);

test("training videos: on the 8-bit grid, last frame the image; the control gets the same frames as images", () => {
  tidy(() => {
    const video = resolveRunConfig({ data: "mnist", spec: "expressive", frames: 4 });
    const control = resolveRunConfig({ data: "mnist", spec: "expressive", frames: 4, framesAsImages: true });
    manualSeed(1);
    const x = images();
    manualSeed(2);
    const v = trainingVideos(x, video);
    assert.deepEqual(v.shape, [3, 4, 1, 8, 8]);
    assert.ok(v.select(1, 3).eq(x).all().item(), "the last frame is the image");
    const levels = v.add(1).mul(127.5);
    assert.ok(
      levels.sub(levels.round()).abs().max().item() < 1e-4 && v.abs().max().item() <= 1,
      "8-bit grid in [−1, 1]",
    );
    manualSeed(2);
    const c = trainingVideos(x, control);
    assert.deepEqual(c.shape, [12, 1, 1, 8, 8]);
    assert.ok(c.reshape(3, 4, 1, 8, 8).eq(v).all().item(), "the same frames, one per image");
    // Evaluation: the control and image models score clean images; the video model scores videos.
    assert.deepEqual(evaluationVideos(x, control).shape, [3, 1, 1, 8, 8]);
    assert.deepEqual(evaluationVideos(x, video).shape, [3, 4, 1, 8, 8]);
  });
});

test("quantise rounds to the nearest of 256 levels and clamps", () => {
  tidy(() => {
    const q = quantise(randn([1000]).mul(2))
      .add(1)
      .mul(127.5)
      .toArray();
    assert.ok(q.every((v) => Math.abs(v - Math.round(v)) < 1e-3 && v >= 0 && v <= 255));
  });
});

test("withRng runs on its own stream and leaves the global one where it was", () => {
  tidy(() => {
    manualSeed(5);
    const plain = [randn([4]).toArray(), randn([4]).toArray()];
    manualSeed(5);
    const first = randn([4]).toArray();
    const inner = withRng(77, () => randn([4]).toArray());
    assert.deepEqual([first, randn([4]).toArray()], plain);
    assert.deepEqual(
      withRng(77, () => randn([4]).toArray()),
      inner,
    );
  });
});

test("lastFrames picks frame T of each video", () => {
  const frames = Uint8Array.from({ length: 2 * 3 * 2 }, (_, i) => i); // 2 videos × 3 frames × 2 bytes
  assert.deepEqual([...lastFrames(frames, { n: 2, t: 3, c: 1, h: 1, w: 2 })], [4, 5, 10, 11]);
});

test("a run on a plain folder trains on 9/10 of it and evaluates on the rest, the same images every time", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lastframe-plain-"));
  process.env.LASTFRAME_CACHE ??= path.join(dir, ".cache");
  for (let i = 0; i < 20; i++) {
    const px = Buffer.alloc(8 * 8, (i * 13) % 256);
    await sharp(px, { raw: { width: 8, height: 8, channels: 1 } })
      .toColourspace("b-w")
      .png()
      .toFile(path.join(dir, `${i}.png`));
  }
  const cfg = resolveRunConfig({ data: dir, spec: "none", frames: 1 });
  const a = await loadRunData(cfg);
  const b = await loadRunData(cfg);
  assert.deepEqual([a.train.n, a.test.n], [18, 2]);
  assert.deepEqual(a.test.images, b.test.images);
  fs.rmSync(dir, { recursive: true, force: true });
});
