// The VQ-VAE family as the training loop sees it: config resolution, the two stages and their parameters,
// evaluation that never moves the codebook, samples, checkpoints, and a tiny two-stage run on MNIST that lowers
// the test-set NLL of the codes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadDataset } from "../../src/data/index.js";
import { Adam } from "../../src/nn/index.js";
import {
  type Tensor,
  avgPool2d,
  dispose,
  fromTyped,
  interpolate,
  manualSeed,
  pad,
  rand,
  setNumThreads,
  stack,
  tidy,
} from "../../src/tensor/index.js";
import { VQModel, vqFamily } from "../../src/models/vq.js";
import { getFamily } from "../../src/models/registry.js";

// Tiny models: a second thread only adds synchronisation (and, on a loaded machine, long waits).
setNumThreads(1);

const shape = { channels: 1, size: 16, frames: 2, pad: 2 };
const tiny = () => vqFamily.resolve({ grid: 4 }, "tiny");

test("the family is registered as vqvae; resolve checks names, types and values", () => {
  assert.equal(getFamily("vqvae"), vqFamily);
  assert.deepEqual(Object.keys(vqFamily.hps), ["tiny", "small", "standard"]);
  const cfg = vqFamily.resolve({ codes: 64, attention: "first-order" }, "small");
  assert.equal(cfg.codes, 64);
  assert.equal(cfg.attention, "first-order");
  assert.equal(cfg.embd, vqFamily.hps.small!.embd);
  const cases: [object, string, string][] = [
    [
      { codez: 3 },
      "tiny",
      'Unknown vqvae hyperparameter "codez". Valid: width, resBlocks, resWidth, codes, codeDim, grid, codebook, beta, decay, restartBelow, layers, heads, embd, dropout, tie, attention, lastFrameWeight',
    ],
    [{ codes: "8" }, "tiny", 'Expected number for hps.codes but received "8" (string)'],
    [{ codes: 0 }, "tiny", "Expected positive integer for hps.codes but received 0 (number)"],
    [{ heads: 3 }, "tiny", "Expected a multiple of heads=3 for hps.embd but received 32 (number)"],
    [
      { codebook: "kmeans" },
      "tiny",
      'Expected "ema" or "straight-through" for hps.codebook but received "kmeans" (string)',
    ],
    [
      { attention: "second-order" },
      "tiny",
      'Expected one of full, first-order, none for hps.attention but received "second-order" (string)',
    ],
    [{ decay: 1 }, "tiny", "Expected a number in (0, 1) for hps.decay but received 1 (number)"],
    [{}, "huge", 'Unknown preset "huge" for model vqvae. Valid presets: tiny, small, standard'],
  ];
  for (const [partial, preset, message] of cases)
    assert.throws(() => vqFamily.resolve(partial, preset), { message }, message);
  assert.throws(() => vqFamily.create(tiny(), { ...shape, size: 20 }), {
    message: "VQVAE: image size 20 is not grid 4 times a power of two (2, 4, 8, …)",
  });
});

test("stages: each optimizer sees only its stage's parameters, and each loss reaches only them", () => {
  manualSeed(0);
  const m = vqFamily.create(tiny(), shape) as VQModel;
  assert.deepEqual(m.stages, ["vqvae", "prior"]);
  const vq = new Set(m.parametersFor("vqvae")),
    prior = new Set(m.parametersFor("prior"));
  assert.equal(vq.size + prior.size, m.parameters().length);
  assert.ok([...vq].every((p) => !prior.has(p)));
  assert.throws(() => m.parametersFor("gan"), {
    message: 'Expected one of vqvae, prior for stage but received "gan" (string)',
  });
  const videos = rand([3, 2, 1, 16, 16]).mul(2).sub(1);
  for (const stage of m.stages) {
    m.zeroGrad();
    tidy(() => m.loss(videos, stage).loss.backward());
    const touched = (ps: Set<Tensor>) =>
      [...ps].filter((p) => tidy(() => p.grad !== null && p.grad.abs().sum().item() > 0)).length;
    const [own, other] = stage === "vqvae" ? [vq, prior] : [prior, vq];
    assert.ok(touched(own) > own.size / 2, `${stage}: its own parameters`);
    assert.equal(touched(other), 0, `${stage}: the other stage's parameters`);
  }
  assert.throws(() => m.loss(rand([3, 1, 1, 16, 16]), "vqvae"), {
    message: "vqvae: expected videos (B, 2, 1, 16, 16), got [3,1,1,16,16]",
  });
  m.dispose();
  videos.dispose();
});

test("evaluation never moves the codebook, even in training mode; its statistics are in range", () => {
  manualSeed(1);
  const m = vqFamily.create(tiny(), shape) as VQModel;
  const videos = rand([4, 2, 1, 16, 16]).mul(2).sub(1);
  tidy(() => m.loss(videos, "vqvae")); // initialises the codebook from data
  const before = m.vqvae.vq.stateDict().get("embed")!.toArray();
  for (const stage of m.stages) {
    const r = m.evaluate(videos, stage);
    assert.deepEqual(
      Object.keys(r).sort(),
      stage === "vqvae"
        ? ["last_psnr", "perplexity", "psnr", "recon", "usage"]
        : [
            "frame_bpd/1",
            "frame_bpd/2",
            "last_bits_per_code",
            "last_bpd_given_true",
            "last_nats_per_code",
            "nats_per_code",
          ],
    );
    for (const v of Object.values(r)) assert.ok(Number.isFinite(v));
    if (stage === "vqvae") {
      assert.ok(r.usage! > 0 && r.usage! <= 1 && r.perplexity! >= 1 && r.perplexity! <= 32);
    } else {
      assert.ok(Math.abs(r.last_bits_per_code! - r.last_nats_per_code! / Math.LN2) < 1e-9);
      // Per frame in bits per code; the last is the last frame's, and their mean is the mean over all codes.
      assert.ok(Math.abs(r["frame_bpd/2"]! - r.last_bpd_given_true!) < 1e-5);
      const mean = (r["frame_bpd/1"]! + r["frame_bpd/2"]!) / 2;
      assert.ok(Math.abs(mean - r.nats_per_code! / Math.LN2) < 1e-5, `frames ${mean}`);
      // An untrained prior is near uniform over the 32 codes.
      assert.ok(Math.abs(r.nats_per_code! - Math.log(32)) < 0.5, `nll ${r.nats_per_code}`);
    }
  }
  assert.deepEqual(m.vqvae.vq.stateDict().get("embed")!.toArray(), before);
  m.dispose();
  videos.dispose();
});

test("samples: (n, T, C, S, S) in [-1, 1] with the padded border reset; a checkpoint round trip reproduces them", () => {
  manualSeed(2);
  const m = vqFamily.create(tiny(), { ...shape, frames: 3 }).eval();
  manualSeed(5);
  const a = tidy(() => {
    const v = m.sample(2, { topP: 0.9 });
    assert.deepEqual(v.shape, [2, 3, 1, 16, 16]);
    assert.ok(v.min().item() >= -1 && v.max().item() <= 1);
    assert.ok(v.narrow(3, 0, 2).eq(-1).all().item() && v.narrow(4, 14, 2).eq(-1).all().item(), "border");
    return v.toArray();
  });
  const copy = vqFamily.create(tiny(), { ...shape, frames: 3 }).eval();
  copy.loadStateDict(m.stateDict());
  manualSeed(5);
  assert.deepEqual(
    tidy(() => copy.sample(2, { topP: 0.9 }).toArray()),
    a,
  );
  m.dispose();
  copy.dispose();
});

/** MNIST digits at 12×12 padded to 16×16 (as the loader pads 28 to 32), as T = 2 videos: a blurred frame, then the image. */
async function mnistVideos(split: "train" | "test", n: number): Promise<Tensor> {
  const d = await loadDataset("mnist", { size: 12, limit: n, progress: false, cache: false });
  const s = d[split];
  return tidy(() => {
    const x = pad(
      fromTyped(s.images, [s.n, 1, 12, 12])
        .float()
        .mul(2 / 255)
        .sub(1),
      [2, 2, 2, 2],
      { value: -1 },
    );
    const blurred = interpolate(avgPool2d(x, 4), { size: [16, 16], mode: "bilinear" });
    return stack([blurred, x], 1);
  });
}

test("a tiny two-stage run on MNIST: reconstructions improve and the prior lowers the test NLL of the codes clearly", async () => {
  manualSeed(3);
  const [train, testSet] = [await mnistVideos("train", 512), await mnistVideos("test", 128)];
  const m = vqFamily.create(vqFamily.resolve({ grid: 4, codes: 32 }, "tiny"), shape);
  const run = (stage: string, steps: number, lr: number) => {
    const opt = new Adam(m.parametersFor(stage), { lr });
    m.train();
    for (let i = 0; i < steps; i++)
      tidy(() => {
        const batch = train.narrow(0, (i * 32) % 512, 32);
        const { loss } = m.loss(batch, stage);
        opt.zeroGrad();
        loss.backward();
        opt.update();
      });
    opt.dispose();
    m.eval();
    return m.evaluate(testSet, stage);
  };
  const recon0 = m.evaluate(testSet, "vqvae").recon!;
  const vq = run("vqvae", 150, 3e-3);
  assert.ok(vq.recon! < 0.5 * recon0, `reconstruction MSE ${recon0} → ${vq.recon}`);
  const nll0 = m.evaluate(testSet, "prior").nats_per_code!;
  const prior = run("prior", 100, 3e-3);
  assert.ok(prior.nats_per_code! < 0.75 * nll0, `test NLL ${nll0} → ${prior.nats_per_code} nats/code`);
  assert.ok(
    prior.nats_per_code! < Math.log(vq.perplexity!),
    "no worse than the unigram entropy of the codes",
  );
  m.dispose();
  dispose([train, testSet]);
});
