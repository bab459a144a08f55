// What the fair comparison adds to both families: per-frame loss weights (λ), the HVAE's frame index, the
// frames-as-images prior and context ("none": distribution augmentation), the per-frame and generated-context
// likelihoods, and starting a model from another run's weights.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { HVAE, hvaeFamily } from "../../src/models/hvae.js";
import { frameWeights } from "../../src/models/model.js";
import { VQModel, vqFamily } from "../../src/models/vq.js";
import { Adam } from "../../src/nn/index.js";
import { saveSafetensors } from "../../src/nn/safetensors.js";
import {
  type Tensor,
  ArgumentError,
  cat,
  manualSeed,
  noGrad,
  rand,
  randn,
  randint,
  setNumThreads,
  tidy,
} from "../../src/tensor/index.js";
import { applyInit, weightsChecksum } from "../../src/train/init.js";
import { assertClose } from "../helpers.js";

setNumThreads(1);

const hvaeTiny = (o: object = {}) => hvaeFamily.resolve(o, "tiny");
const pixels = (shape: number[]) => randn(shape).clamp(-1, 1).add(1).mul(127.5).round().div(127.5).sub(1);

test("frameWeights: λ on the last frame, 1 − λ shared by the others; 0 is 1/T; T = 1 is [1]; λ outside [0, 1] is refused", () => {
  assert.deepEqual(frameWeights(1, 0.3), [1]);
  assertClose(frameWeights(4, 0.25), [0.25, 0.25, 0.25, 0.25], 1e-12, "uniform");
  assertClose(frameWeights(4, 0), [0.25, 0.25, 0.25, 0.25], 1e-12, "0: 1/T");
  assertClose(frameWeights(3, 0.8), [0.1, 0.1, 0.8], 1e-12, "λ = 0.8");
  for (const bad of [-0.1, 1.5, NaN])
    assert.throws(() => frameWeights(4, bad), {
      name: "ArgumentError",
      message: `Expected a number in [0, 1] (0: 1/T) for hps.lastFrameWeight but received ${bad} (number)`,
    });
});

test("hvae: with T = 1 the loss is the image ELBO whatever λ; with λ = 1/T it is the mean over frames", () => {
  manualSeed(1);
  tidy(() => {
    const x = pixels([3, 1, 1, 32, 32]);
    const loss = (m: HVAE, v: Tensor) => {
      manualSeed(2);
      return noGrad(() => m.loss(v, "main"));
    };
    manualSeed(3);
    const a = new HVAE(hvaeTiny({ lastFrameWeight: 0.9 }), { channels: 1, size: 32, frames: 1 });
    const b = new HVAE(hvaeTiny({ lastFrameWeight: 0.2 }), { channels: 1, size: 32, frames: 1 });
    b.loadStateDict(a.stateDict());
    assert.equal(loss(a, x).loss.item(), loss(b, x).loss.item());
    assertClose([loss(a, x).loss.item()], [loss(a, x).stats.elbo!.item()], 1e-6, "T = 1: loss = ELBO");

    const v = pixels([2, 4, 1, 32, 32]);
    const uniform = new HVAE(hvaeTiny({ lastFrameWeight: 0.25 }), { channels: 1, size: 32, frames: 4 });
    const out = loss(uniform, v);
    assertClose([out.loss.item()], [out.stats.elbo!.item()], 1e-6, "λ = 1/T: loss = mean of the frames");
    // λ = 0.7 weighs the last frame's −ELBO by 0.7 and each earlier one by 0.1.
    const weighted = new HVAE(hvaeTiny({ lastFrameWeight: 0.7 }), { channels: 1, size: 32, frames: 4 });
    weighted.loadStateDict(uniform.stateDict());
    manualSeed(2);
    const { distortion, rate } = noGrad(() => weighted.elbo(v));
    const perFrame = distortion.add(rate).mean([0]).toArray();
    const want = 0.1 * (perFrame[0]! + perFrame[1]! + perFrame[2]!) + 0.7 * perFrame[3]!;
    assertClose([loss(weighted, v).loss.item()], [want], 1e-6, "λ = 0.7");
    for (const m of [a, b, uniform, weighted]) m.dispose();
  });
});

test("hvae: the frame embedding starts at zero and receives gradients", () => {
  manualSeed(4);
  const m = new HVAE(hvaeTiny(), { channels: 1, size: 32, frames: 3 });
  for (const b of m.dec.blocks) assert.ok(b.time!.abs().max().item() === 0);
  tidy(() => m.loss(pixels([2, 3, 1, 32, 32]), "main").loss.backward());
  const norms = m.dec.blocks.map((b) => b.time!.grad!.abs().sum().item());
  assert.ok(
    norms.every((n) => n > 0),
    `gradient norms ${norms}`,
  );
  // Each frame's row gets its own gradient (frame 1 and frame 3 differ).
  const g = m.dec.blocks[0]!.time!.grad!;
  assert.ok(g.select(0, 0).sub(g.select(0, 2)).abs().sum().item() > 0);
  m.zeroGrad();
  m.dispose();
});

test("hvae: a video model started from an image run's weights (init) scores every frame as the image model does", () => {
  const dir = mkdtempSync(join(tmpdir(), "lastframe-init-"));
  try {
    manualSeed(5);
    const image = new HVAE(hvaeTiny(), { channels: 1, size: 32, frames: 1 });
    noGrad(() => image.parameters().forEach((p) => p.add_(randn(p.shape).mul(0.02)))); // not a fresh init
    const file = join(dir, "image.safetensors");
    saveSafetensors(file, image.stateDict());
    manualSeed(99); // other random weights, replaced by the file's where it has them
    const video = new HVAE(hvaeTiny(), { channels: 1, size: 32, frames: 3 });
    const sha = applyInit(video, { from: file, modules: [], sha256: "" });
    assert.equal(sha, weightsChecksum(image.stateDict()));
    tidy(() => {
      const v = pixels([2, 3, 1, 32, 32]);
      const perFrame = (m: HVAE, x: Tensor) => {
        manualSeed(6); // both draw (B·T, …) posterior noise per group, in the same order
        const { distortion, rate } = noGrad(() => m.elbo(x));
        return distortion.add(rate).reshape(2, 3).toArray();
      };
      assertClose(perFrame(video, v), perFrame(image, v.reshape(6, 1, 1, 32, 32)), 1e-5, "per-frame −ELBO");
    });
    // A source with tensors the model lacks is another family's run: refused, naming the file.
    const other = join(dir, "other.safetensors");
    saveSafetensors(other, new Map([["prior.tok.weight", randn([3, 2])]]));
    assert.throws(() => applyInit(video, { from: other, modules: [], sha256: "" }), {
      name: "CheckpointError",
      message: new RegExp(
        `^${other} \\(init.from\\) holds tensors this model does not have: prior.tok.weight$`,
      ),
    });
    assert.throws(() => applyInit(video, { from: file, modules: ["vqvae."], sha256: "" }), ArgumentError);
    image.dispose();
    video.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hvae: context "none" has no context convs, and a frame\'s ELBO ignores the other frames', () => {
  manualSeed(7);
  const m = new HVAE(hvaeTiny({ context: "none" }), { channels: 1, size: 32, frames: 3 });
  assert.ok(m.dec.blocks.every((b) => b.ctx === undefined && b.time !== undefined));
  noGrad(() => m.dec.blocks.forEach((b) => b.time!.normal_(0, 0.3))); // frames differ by index only
  tidy(() => {
    const v = pixels([2, 3, 1, 32, 32]);
    const other = cat([pixels([2, 2, 1, 32, 32]), v.narrow(1, 2, 1)], 1);
    const last = (x: Tensor) => {
      manualSeed(8);
      const { distortion, rate } = noGrad(() => m.elbo(x));
      return distortion.add(rate).select(1, 2).toArray();
    };
    assertClose(last(other), last(v), 1e-6, "last frame");
    const s = m.sample(2);
    assert.deepEqual(s.shape, [2, 3, 1, 32, 32]);
  });
  m.dispose();
});

const vqShape = { channels: 1, size: 16, frames: 2, pad: 0 };
const vqTiny = (o: object = {}) => vqFamily.resolve({ grid: 4, ...o }, "tiny");

test('vqvae: attention "none" scores each frame on its own codes and index; λ = 1/T is the mean code NLL', () => {
  manualSeed(9);
  const m = vqFamily.create(vqTiny({ attention: "none", lastFrameWeight: 0.5 }), vqShape) as VQModel;
  noGrad(() => m.prior.parameters().forEach((p) => p.add_(randn(p.shape).mul(0.05))));
  m.eval();
  tidy(() => {
    const codes = randint(0, 32, [3, 32]);
    const changed = cat([randint(0, 32, [3, 16]), codes.narrow(1, 16, 16)], 1);
    const last = (c: Tensor) => m.prior.nll(c).narrow(1, 16, 16).toArray();
    assertClose(last(changed), last(codes), 1e-6, "frame 2 ignores frame 1");
    // …but not its index: frame 2's codes scored as frame 1 differ once the temporal embedding is not zero.
    const swapped = cat([codes.narrow(1, 16, 16), codes.narrow(1, 16, 16)], 1);
    const first = m.prior.nll(swapped).narrow(1, 0, 16).toArray();
    assert.ok(first.some((v, i) => Math.abs(v - last(codes)[i]!) > 1e-4));
    assert.deepEqual(m.prior.sample(2).shape, [2, 32]);
    const videos = rand([4, 2, 1, 16, 16]).mul(2).sub(1);
    m.loss(videos, "vqvae"); // initialises the codebook from data
    const out = m.loss(videos, "prior");
    assertClose([out.loss.item()], [out.stats.nats_per_code!.item()], 1e-6, "λ = 1/T (T = 2: 0.5)");
  });
  m.dispose();
});

test("vqvae: a trained prior finds the last frame likelier after copies of it than after noise", () => {
  manualSeed(10);
  const m = vqFamily.create(vqTiny(), vqShape) as VQModel;
  // Pseudo videos whose frame 1 is a lightly noised copy of the image (then quantised to the model's codes).
  const videos = (n: number) =>
    tidy(() => {
      const x = rand([n, 1, 1, 16, 16]).mul(2).sub(1);
      return cat([x.add(randn(x.shape).mul(0.05)).clamp(-1, 1), x], 1);
    });
  const first = videos(64);
  tidy(() => m.loss(first, "vqvae")); // a codebook from data; stage 1 stays untrained: the codes are fixed
  first.dispose();
  const opt = new Adam(m.parametersFor("prior"), { lr: 3e-3 });
  for (let step = 0; step < 150; step++)
    tidy(() => {
      const { loss } = m.loss(videos(32), "prior");
      opt.zeroGrad();
      loss.backward();
      opt.update();
    });
  m.eval();
  const [copies, noise] = tidy(() => {
    const x = rand([64, 1, 1, 16, 16]).mul(2).sub(1);
    return [cat([x, x], 1), cat([rand(x.shape).mul(2).sub(1), x], 1)];
  });
  const given = (v: Tensor) => m.evaluate(v, "prior").last_bpd_given_true!;
  const [a, b] = [given(copies!), given(noise!)];
  assert.ok(a < b - 0.5, `last frame: ${a.toFixed(3)} bits/code after copies, ${b.toFixed(3)} after noise`);
  // With its own earlier frames (drawn, then scored on the true last frame) it sits in between or above copies.
  const generated = tidy(() => m.lastGivenGenerated(copies!).mean().item());
  assert.ok(Number.isFinite(generated) && generated > a, `generated ${generated}`);
  opt.dispose();
  m.dispose();
  copies!.dispose();
  noise!.dispose();
});
