// Per-frame distances (src/eval/frame-fd.ts) in a one-dimensional feature space where the Fréchet distance has a
// closed form: with each image's mean pixel as its feature, FD = (μ1 − μ2)² + (σ1 − σ2)².
import assert from "node:assert/strict";
import { test } from "node:test";
import { frameDistances } from "../../src/eval/frame-fd.js";
import type { FeatureSpace } from "../../src/eval/spaces.js";
import { videoFrame, type VideoBytes } from "../../src/train/data.js";
import { fromTyped } from "../../src/tensor/index.js";

const meanPixel: FeatureSpace = {
  name: "mean-pixel",
  id: "test",
  dims: 1,
  extract: ({ images, n, c, h, w }) => {
    const per = c * h * w;
    const means = new Float32Array(n);
    for (let i = 0; i < n; i++)
      means[i] = images.subarray(i * per, (i + 1) * per).reduce((a, b) => a + b, 0) / per;
    return fromTyped(means, [n, 1]);
  },
  dispose: () => {},
};

/** n videos of T frames of 2×2 pixels; frame j's pixels are drawn around level(j). */
function videos(n: number, t: number, level: (j: number) => number, seed: number): VideoBytes {
  const frames = new Uint8Array(n * t * 4);
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < t; j++)
      for (let p = 0; p < 4; p++) frames[(i * t + j) * 4 + p] = Math.round(level(j) + 30 * rand());
  return { frames, shape: { n, t, c: 1, h: 2, w: 2 } };
}

/** FD of two sets of 1-d features: squared difference of means plus squared difference of (unbiased) stds. */
function fd1(a: number[], b: number[]): number {
  const mean = (x: number[]) => x.reduce((p, q) => p + q, 0) / x.length;
  const std = (x: number[]) => Math.sqrt(x.reduce((p, q) => p + (q - mean(x)) ** 2, 0) / (x.length - 1));
  return (mean(a) - mean(b)) ** 2 + (std(a) - std(b)) ** 2;
}

const means = (v: VideoBytes, j: number) => {
  const f = videoFrame(v.frames, v.shape, j);
  return Array.from(
    { length: v.shape.n },
    (_, i) => f.subarray(i * 4, i * 4 + 4).reduce((a, b) => a + b, 0) / 4,
  );
};

test("videoFrame takes one frame position of every video", () => {
  const v = videos(3, 4, (j) => 50 * j, 1);
  const f = videoFrame(v.frames, v.shape, 2);
  assert.deepEqual([...f.subarray(4, 8)], [...v.frames.subarray((1 * 4 + 2) * 4, (1 * 4 + 3) * 4)]);
  assert.equal(f.length, 3 * 4);
});

test("frameDistances: every generated frame against every real one; a model that reverses the order is caught", () => {
  const real = videos(50, 4, (j) => 40 * j, 7);
  const reversed = videos(60, 4, (j) => 40 * (3 - j), 8);
  const r = frameDistances(meanPixel, reversed, real);
  assert.deepEqual([r.n, r.refN], [60, 50]);
  assert.deepEqual(r.closest, [4, 3, 2, 1]);
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) {
      const want = fd1(means(reversed, i), means(real, j));
      assert.ok(
        Math.abs(r.fd[i]![j]! - want) <= 1e-6 * Math.max(1, want),
        `fd[${i}][${j}] ${r.fd[i]![j]} vs ${want}`,
      );
    }
  assert.deepEqual(
    frameDistances(
      meanPixel,
      videos(20, 4, (j) => 40 * j, 9),
      real,
    ).closest,
    [1, 2, 3, 4],
  );
});

test("frameDistances: clear errors for image models, mismatched frame counts and too few videos", () => {
  const flat = (n: number, t: number) => videos(n, t, () => 0, n + t);
  const cases: [VideoBytes, VideoBytes, RegExp][] = [
    [flat(5, 1), flat(6, 1), /per-frame distances need a video run \(T > 1\)/],
    [flat(5, 3), flat(5, 4), /3 generated frames against 4 real ones/],
    [flat(1, 2), flat(5, 2), /at least 2 videos on each side, got 1 generated and 5 real/],
  ];
  for (const [generated, real, message] of cases)
    assert.throws(() => frameDistances(meanPixel, generated, real), message);
});
