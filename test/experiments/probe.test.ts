// The probe suite's measurement (src/experiments/probe.ts) and the HVAE features it reads: the probe finds a class
// that is linearly decodable, stays near chance when the labels are unrelated to the images, and the HVAE's
// features are its encoder's pooled activations at every resolution.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ImageSet } from "../../src/data/index.js";
import { linearProbe } from "../../src/experiments/probe.js";
import { HVAE, hvaeFamily } from "../../src/models/hvae.js";
import type { TrainableModel } from "../../src/models/model.js";
import {
  ArgumentError,
  avgPool2d,
  cat,
  liveTensors,
  manualSeed,
  randn,
  tidy,
} from "../../src/tensor/index.js";
import { assertClose } from "../helpers.js";

/** n 8×8 grey images; class k (of 4) lights quadrant k at a random brightness, over noise. */
function quadrants(n: number, seed: number, labelsFrom?: (i: number) => number): ImageSet {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const images = new Uint8Array(n * 64);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 4;
    const level = 120 + 100 * rand();
    for (let p = 0; p < 64; p++) {
      const [y, x] = [p >> 3, p & 7];
      const inside = (y < 4 ? 0 : 2) + (x < 4 ? 0 : 1) === k;
      images[i * 64 + p] = Math.round((inside ? level : 0) + 30 * rand());
    }
    labels[i] = labelsFrom ? labelsFrom(i) : k;
  }
  return { images, n, c: 1, h: 8, w: 8, labels, classes: null };
}

/** A stand-in for a trained model: its features are the pixels. */
const pixels = { features: (x) => x.flatten(1) } as TrainableModel;
const options = { trainImages: 400, testImages: 200, steps: 100, pad: 0 };

test("linear probe: a linearly decodable class is found, unrelated labels stay near chance", () => {
  const before = liveTensors();
  const good = linearProbe(pixels, { train: quadrants(400, 1), test: quadrants(200, 2) }, options);
  assert.equal(good, 1);
  // Labels drawn independently of the images: the 64 features over 400 training images can only memorise.
  let s = 7;
  const noise = () => (s = (s * 48271) % 2147483647) % 4;
  const bad = linearProbe(
    pixels,
    { train: quadrants(400, 1, noise), test: quadrants(200, 2, noise) },
    options,
  );
  assert.ok(bad < 0.4 && bad > 0.1, `accuracy ${bad} on unrelated labels (chance 0.25)`);
  assert.equal(liveTensors(), before, "the probe frees what it made");
});

test("linear probe: clear errors for a model without features and data without labels", () => {
  const data = { train: quadrants(8, 1), test: quadrants(8, 2) };
  assert.throws(() => linearProbe({} as TrainableModel, data, options), {
    name: "ArgumentError",
    message: /exposes no features/,
  });
  const unlabelled = { ...quadrants(8, 2), labels: null };
  assert.throws(() => linearProbe(pixels, { train: data.train, test: unlabelled }, options), ArgumentError);
});

test("HVAE features: every resolution's encoder activations pooled to at most 4×4, joined", () => {
  manualSeed(3);
  const tiny = hvaeFamily.resolve({}, "tiny");
  const m = new HVAE(tiny, { channels: 1, size: 32, frames: 1 });
  tidy(() => {
    const x = randn([3, 1, 32, 32]).clamp(-1, 1);
    const got = m.features(x);
    const acts = m.enc.forward(x);
    const sizes = [...acts.keys()].sort((a, b) => b - a);
    assert.deepEqual(sizes, [32, 16, 8, 4, 1]);
    // Pooling by a fixed kernel of r / 4 is what the adaptive pool must do when r is a multiple of 4.
    const want = cat(
      sizes.map((r) => (r >= 4 ? avgPool2d(acts.get(r)!, r / 4) : acts.get(r)!).flatten(1)),
      1,
    );
    assert.deepEqual(got.shape, [3, tiny.width * (4 * 16 + 1)]);
    assert.equal(got.requiresGrad, false);
    assertClose(got.toArray(), want.toArray(), 1e-6, "features");
  });
  m.dispose();
});
