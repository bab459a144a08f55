// The DDPM family (src/models/ddpm.ts, unet.ts): the forward process against the chain iterated step by step,
// its end against N(0, I), the loss and the bound of a perfect noise predictor, DDIM and ancestral sampling
// against the exact answer on Gaussian data with the analytic ε*, the U-Net's shapes, the video model reducing
// to the image model, and a tiny MNIST run through the training loop that lowers its loss and resumes exactly.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  DDPM,
  boundStrata,
  ddpmFamily,
  discretisedGaussianLogProb,
  noised,
  reverseDiffusion,
} from "../../src/models/ddpm.js";
import { ddimTimesteps, makeSchedule, scheduleKinds } from "../../src/models/diffusion-schedule.js";
import { AttentionBlock, UNet, timestepEmbedding } from "../../src/models/unet.js";
import { loadSafetensors } from "../../src/nn/index.js";
import {
  type Tensor,
  cat,
  dispose,
  full,
  manualSeed,
  noGrad,
  randn,
  setNumThreads,
  tensor,
  tidy,
  zeros,
} from "../../src/tensor/index.js";
import { readMetrics } from "../../src/train/metrics.js";
import { train } from "../../src/train/loop.js";
import { assertClose } from "../helpers.js";

setNumThreads(1);

const tiny = ddpmFamily.resolve({}, "tiny");
const moments = (x: Tensor): [number, number] => [x.mean().item(), x.std().item()];
const near = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);

for (const kind of scheduleKinds) {
  test(`${kind}: x_t drawn in closed form has the moments of the chain iterated step by step`, () => {
    manualSeed(1);
    const s = makeSchedule(kind, 1000);
    tidy(() => {
      const x0 = cat([full([10000, 1, 1, 1], 0.6), full([10000, 1, 1, 1], -0.9)], 0);
      let chain = x0;
      for (let t = 1; t <= 1000; t++) {
        const b = s.betas[t - 1]!;
        chain = tidy(() => chain.mul(Math.sqrt(1 - b)).add(randn(chain.shape).mul(Math.sqrt(b))));
        if (![10, 300, 1000].includes(t)) continue;
        const closed = noised(s, x0, Array<number>(20000).fill(t), randn(x0.shape));
        for (const [half, x] of [0.6, -0.9].entries()) {
          const mean = Math.sqrt(s.alphaBars[t - 1]!) * x,
            std = Math.sqrt(1 - s.alphaBars[t - 1]!);
          for (const [name, v] of [
            ["chain", chain],
            ["closed form", closed],
          ] as const) {
            const [m, sd] = moments(v.narrow(0, half * 10000, 10000));
            near(m, mean, 4 * (std / 100) + 1e-6, `${name} mean at t=${t}, x0=${x}`);
            near(sd, std, 4 * (std / 141) + 1e-6, `${name} std at t=${t}, x0=${x}`);
          }
        }
      }
    });
  });

  test(`${kind}: at t = N images are ≈ N(0, I) and the bound's prior term is ≈ 0`, () => {
    manualSeed(2);
    const m = new DDPM({ ...tiny, schedule: kind }, { channels: 1, size: 32, frames: 1 });
    tidy(() => {
      const images = randn([64, 1, 32, 32]).clamp(-1, 1).sign(); // the extremes of the data range
      const xN = noised(m.schedule, images, Array<number>(64).fill(1000), randn(images.shape));
      const [mean, std] = moments(xN);
      near(mean, 0, 0.02, "mean");
      near(std, 1, 0.02, "std");
      const { prior } = noGrad(() => m.bound(images.unsqueeze(1)));
      assert.ok(prior.max().item() < 1e-3, `L_N = ${prior.max().item()} bits/dim`);
    });
    m.dispose();
  });
}

/** Replaces the U-Net with the exact ε of a data set that is the single image x0: (x_t − √ᾱ_t x0) / √(1 − ᾱ_t). */
function perfectPredictor(m: DDPM, x0: Tensor): void {
  const s = m.schedule;
  m.unet.forward = (x: Tensor, t: Tensor) => {
    const rows = [...(t.data() as Float32Array)];
    const col = (f: (ab: number) => number) =>
      tensor(rows.map((i) => f(s.alphaBars[i - 1]!))).view(-1, 1, 1, 1);
    const mean = x0.narrow(1, 0, 1).mul(col(Math.sqrt)); // the image's channels (the context follows them)
    return x
      .narrow(1, 0, 1)
      .sub(mean)
      .div(col((ab) => Math.sqrt(1 - ab)));
  };
}

test("the ε-loss of the true noise is 0, and then the bound is its prior and decoder terms alone", () => {
  manualSeed(3);
  const m = new DDPM(tiny, { channels: 1, size: 32, frames: 1, pad: 2 });
  tidy(() => {
    const image = randn([1, 1, 32, 32]).clamp(-1, 1).add(1).mul(127.5).round().div(127.5).sub(1);
    const batch = image.expand(8, -1, -1, -1);
    perfectPredictor(m, batch);
    const { loss } = m.loss(batch.unsqueeze(1), "main");
    assert.ok(loss.item() < 1e-8, `loss ${loss.item()}`);
    const { total, prior, decoder } = noGrad(() => m.bound(batch.unsqueeze(1)));
    assertClose(total.toArray(), prior.add(decoder).toArray(), 1e-5, "bound");
    // A random predictor is far worse, in both.
    const fresh = new DDPM(tiny, { channels: 1, size: 32, frames: 1, pad: 2 });
    assert.ok(fresh.loss(batch.unsqueeze(1), "main").loss.item() > 0.5);
    assert.ok(
      noGrad(() => fresh.bound(batch.unsqueeze(1)))
        .total.mean()
        .item() >
        total.mean().item() + 1,
    );
    fresh.dispose();
  });
  m.dispose();
});

test("the bound's strata cover 2 … N once, geometric in size, each non-empty", () => {
  assert.deepEqual(boundStrata(1000, 4), [
    [2, 9],
    [9, 45],
    [45, 212],
    [212, 1001],
  ]);
  for (const [N, K] of [
    [10, 9],
    [1000, 16],
    [2, 1],
  ] as const) {
    const s = boundStrata(N, K);
    assert.equal(s.length, K);
    assert.equal(s[0]![0], 2);
    assert.equal(s.at(-1)![1], N + 1);
    s.forEach(([lo, hi], k) => {
      assert.ok(hi > lo, `stratum ${k} of ${N}, ${K} is empty`);
      if (k) assert.equal(lo, s[k - 1]![1]);
    });
  }
});

test("the discretised Gaussian puts probability 1 on the 256 levels, and one bin's mass where Φ says", () => {
  tidy(() => {
    const levels = tensor(Array.from({ length: 256 }, (_, k) => k / 127.5 - 1)).view(256, 1, 1, 1);
    for (const [mean, logStd] of [
      [0.1, Math.log(0.01)],
      [-0.98, Math.log(0.3)],
      [1.4, Math.log(0.05)],
    ] as const) {
      const p = discretisedGaussianLogProb(levels, full([256, 1, 1, 1], mean), logStd).exp();
      near(p.sum().item(), 1, 1e-5, `total mass, mean ${mean}`);
    }
    // Under N(0, 1) the level 1/255 (k = 128) covers [0, 2/255]: Φ(2/255) − Φ(0) ≈ φ(0) · 2/255.
    const one = discretisedGaussianLogProb(tensor([1 / 255]).view(1, 1, 1, 1), zeros([1, 1, 1, 1]), 0);
    near(one.exp().item(), 2 / 255 / Math.sqrt(2 * Math.PI), 1e-6, "mass of one bin");
  });
});

test("Gaussian data with the analytic ε*: DDIM with 1,000 steps ≈ the exact flow map; DDPM gives the data's law", () => {
  manualSeed(4);
  const s = makeSchedule("linear", 1000);
  const mu = 0.3,
    sd = 0.2;
  // x_t ~ N(√ᾱ μ, ᾱ sd² + 1 − ᾱ), so E[ε | x_t] = √(1 − ᾱ) (x_t − √ᾱ μ) / (ᾱ sd² + 1 − ᾱ).
  const epsStar = (x: Tensor, t: number) => {
    const ab = s.alphaBars[t - 1]!;
    return x.sub(Math.sqrt(ab) * mu).mul(Math.sqrt(1 - ab) / (ab * sd * sd + 1 - ab));
  };
  tidy(() => {
    const noise = randn([20000, 1, 1, 1]);
    const run = (k: number, eta: number) =>
      reverseDiffusion(s, epsStar, noise, { visit: ddimTimesteps(1000, k), eta, clip: false });
    // The probability-flow ODE of Gaussian data keeps each sample's standardised value.
    const abN = s.alphaBars[999]!;
    const exact = noise
      .sub(Math.sqrt(abN) * mu)
      .div(Math.sqrt(abN * sd * sd + 1 - abN))
      .mul(sd)
      .add(mu);
    const ddim = run(1000, 0);
    const err = ddim.sub(exact).abs().max().item();
    assert.ok(err < 0.01, `DDIM 1000 steps: max error ${err}`);
    const coarse = run(10, 0).sub(exact).abs().max().item();
    assert.ok(coarse > err, `10 steps (${coarse}) should be further off than 1000 (${err})`);
    // Deterministic: the same noise, the same images.
    assert.equal(run(1000, 0).sub(ddim).abs().max().item(), 0);
    for (const [name, x] of [
      ["ddim", ddim],
      ["ddpm", run(1000, 1)],
    ] as const) {
      const [m, d] = moments(x);
      near(m, mu, 0.006, `${name} mean`);
      near(d, sd, 0.006, `${name} std`);
    }
  });
});

test("time embedding: (B, dim) of sin and cos pairs; the U-Net keeps the image's shape; attention keeps its map's", () => {
  manualSeed(5);
  tidy(() => {
    const e = timestepEmbedding(tensor([0, 1, 500]), 8);
    assert.deepEqual(e.shape, [3, 8]);
    assertClose(e.select(0, 0).toArray(), [0, 0, 0, 0, 1, 1, 1, 1], 1e-6, "t = 0");
    const f1 = 10000 ** -0.25;
    assertClose(
      [e.select(1, 1).select(0, 2).item(), e.select(1, 5).select(0, 2).item()],
      [Math.sin(500 * f1), Math.cos(500 * f1)],
      1e-4,
      "t = 500, i = 1",
    );
    const attn = new AttentionBlock(16, tiny);
    assert.deepEqual(attn.forward(randn([2, 16, 8, 8])).shape, [2, 16, 8, 8]);
    const net = new UNet({ ...tiny, channelMults: "1,2,2" }, { inChannels: 3, outChannels: 1, size: 16 });
    assert.deepEqual(net.forward(randn([2, 3, 16, 16]), tensor([1, 999])).shape, [2, 1, 16, 16]);
    // A fresh net predicts ε̂ = 0: its output conv starts at zero.
    assert.equal(
      net
        .forward(randn([2, 3, 16, 16]), tensor([3, 4]))
        .abs()
        .max()
        .item(),
      0,
    );
    assert.throws(
      () => new UNet({ ...tiny, channelMults: "1,2,2,2,2,2" }, { inChannels: 1, outChannels: 1, size: 16 }),
      /hps\.channelMults/,
    );
    attn.dispose();
    net.dispose();
  });
});

/** A video model (T frames) with the image model's weights: the input conv's extra channels stay zero. */
function videoTwin(image: DDPM, T: number): DDPM {
  const video = new DDPM(image.cfg, { ...image.shape, frames: T });
  const state = new Map(image.stateDict());
  const w = state.get("unet.input.weight")!;
  const [o, c, k] = w.shape as [number, number, number];
  state.set("unet.input.weight", cat([w, zeros([o, c * (T - 1), k, k])], 1));
  state.set("frame", zeros([T, image.unet.embDim]));
  video.loadStateDict(state);
  return video;
}

test("T = 1 is the image DDPM; a video model with its weights scores and trains every frame as it does", () => {
  manualSeed(6);
  const image = new DDPM(tiny, { channels: 1, size: 32, frames: 1, pad: 2 });
  // Weights as after some training, so that the comparison is not of zeros.
  noGrad(() => image.unet.output.weight.normal_(0, 0.05));
  assert.equal(image.frame, undefined);
  const video = videoTwin(image, 3);
  assert.deepEqual(
    video.namedParameters().map(([k]) => k),
    [...image.namedParameters().map(([k]) => k), "frame"],
  );
  tidy(() => {
    const v = randn([2, 3, 1, 32, 32]).clamp(-1, 1);
    const frames = v.reshape(6, 1, 1, 32, 32); // (B, T, C, H, W) → (B·T, 1, C, H, W)
    const perFrame = (m: DDPM, x: Tensor, seed: number) => {
      manualSeed(seed); // both draw t and ε for the B·T frames in the same order
      return noGrad(() => m.bound(x)).total.reshape(2, 3);
    };
    const want = perFrame(image, frames, 7);
    assertClose(perFrame(video, v, 7).toArray(), want.toArray(), 1e-5, "bound per frame");
    const loss = (m: DDPM, x: Tensor) => {
      manualSeed(8);
      return noGrad(() => m.loss(x, "main")).loss.item();
    };
    assertClose([loss(video, v)], [loss(image, frames)], 1e-6, "loss (λ = 1/T)");
    // With the context channels switched on, frame 1 (no earlier frames) is unchanged and frame 3 is not.
    noGrad(() => video.unet.input.weight.narrow(1, 1, 2).normal_(0, 0.3));
    const got = perFrame(video, v, 7);
    assertClose(got.select(1, 0).toArray(), want.select(1, 0).toArray(), 1e-5, "frame 1");
    assert.ok(
      got.select(1, 2).sub(want.select(1, 2)).abs().sum().item() > 1e-3,
      "frame 3 sees frames 1 and 2",
    );
  });
  tidy(() => {
    const s = video.sample(2, { steps: 3 });
    assert.deepEqual(s.shape, [2, 3, 1, 32, 32]);
    assert.ok(s.min().item() >= -1 && s.max().item() <= 1);
    assert.equal(s.narrow(4, 0, 2).add(1).abs().max().item(), 0, "the padding is reset to −1");
    assert.throws(() => video.sample(2, { steps: 1001 }), /--steps/);
    assert.throws(() => video.sample(2, { sampler: "euler" as never }), /--sampler/);
    // The last frame's bound after the model drew frames 1 and 2 itself: one finite number per video.
    const v = randn([2, 3, 1, 32, 32]).clamp(-1, 1);
    const generated = video.lastGivenGenerated(v, { steps: 2 });
    assert.deepEqual(generated.shape, [2]);
    assert.ok(generated.isfinite().all().item() && generated.min().item() > 0);
  });
  image.dispose();
  video.dispose();
});

test("a tiny MNIST run lowers its ε-loss clearly, and an interrupted run resumes to the same weights", async () => {
  const root = mkdtempSync(join(tmpdir(), "lastframe-ddpm-"));
  try {
    const input = {
      model: "ddpm",
      preset: "tiny",
      data: { name: "mnist", limit: 256 },
      frames: 1,
      train: { steps: 40, batch: 16 },
      log: { evalImages: 16, sampleN: 2, sampleEvery: 40, evalEvery: 40, checkpointEvery: 20 },
    };
    const whole = join(root, "whole"),
      parts = join(root, "parts");
    const done = await train(input, whole, { output: "quiet" });
    assert.ok(done.finished && Number.isFinite(done.eval!.bpd as number), JSON.stringify(done.eval));
    const losses = readMetrics(whole)
      .filter((r) => r.type === "train")
      .map((r) => r.loss as number);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [first, last] = [mean(losses.slice(0, 5)), mean(losses.slice(-5))];
    assert.ok(first > 0.8 && last < 0.6 * first, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
    const stopped = await train(input, parts, { output: "quiet", stopAt: 20 });
    assert.equal(stopped.finished, false);
    await train(input, parts, { output: "quiet", resume: true });
    const [a, b] = [whole, parts].map(
      (d) => loadSafetensors(join(d, "ckpt-000040", "model.safetensors")).tensors,
    );
    for (const [k, t] of a!)
      assert.equal(
        tidy(() => t.sub(b!.get(k)!).abs().max().item()),
        0,
        k,
      );
    dispose([a, b]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
