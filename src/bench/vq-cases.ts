// Bench cases of the VQ-VAE family (twins in bench/twins_vq.py): a VQ-VAE training step on images and on the
// frames of T = 4 pseudo videos, a prior training step on the codes of an image and of a T = 4 video, and sampling
// 64 videos of 4 frames of 8×8 codes with and without the key/value cache. The models are the `standard` preset
// for 32×32 single-channel data (MNIST padded), without dropout (the twins have none).
import { Adam } from "../nn/index.js";
import { type Tensor, noGrad, rand, randint, tidy } from "../tensor/index.js";
import { CodePrior } from "../models/vq-prior.js";
import { VideoCodePrior } from "../models/vq-video.js";
import { type VQConfig, hps } from "../models/vq.js";
import { VQVAE } from "../models/vqvae.js";
import type { BenchCase, Runner } from "./cases.js";

const cfg: VQConfig = { ...hps.standard, dropout: 0 };
const CHANNELS = 1,
  SIZE = 32;
const perFrame = cfg.grid * cfg.grid;

function makePrior(frames: number): CodePrior {
  return frames === 1
    ? new CodePrior(cfg, cfg.codes, perFrame)
    : new VideoCodePrior(cfg, cfg.codes, perFrame, frames, cfg.attention);
}

/** A training step: loss, backward, Adam; everything the step creates is freed by its scope. */
function trainer(params: Tensor[], loss: () => Tensor, owned: { dispose(): void }[]): Runner {
  const opt = new Adam(params, { lr: 1e-4 });
  return {
    step: () =>
      tidy(() => {
        const l = loss();
        opt.zeroGrad();
        l.backward();
        opt.update();
      }),
    dispose: () => {
      opt.dispose();
      for (const o of owned) o.dispose();
    },
  };
}

function vqvaeCase(videos: number, frames: number): BenchCase {
  const n = videos * frames;
  return {
    name: frames === 1 ? "vqvae" : `vqvae-video-t${frames}`,
    description: `VQ-VAE (standard) train step, EMA codebook; ${videos}×${frames} frames of ${CHANNELS}×${SIZE}×${SIZE}`,
    items: videos,
    setup() {
      const model = new VQVAE(cfg, CHANNELS, SIZE);
      const x = rand([n, CHANNELS, SIZE, SIZE]).mul(2).sub(1);
      return trainer(model.parameters(), () => model.loss(x).loss, [model, x]);
    },
    twin: { case: "vqvae", args: { cfg, channels: CHANNELS, size: SIZE, batch: videos, frames } },
  };
}

function priorCase(batch: number, frames: number): BenchCase {
  return {
    name: frames === 1 ? "vq-prior" : `vq-prior-video-t${frames}`,
    description: `code prior (standard, ${cfg.attention} attention) train step; ${batch} × ${frames * perFrame} codes`,
    items: batch,
    setup() {
      const prior = makePrior(frames);
      const codes = randint(0, cfg.codes, [batch, frames * perFrame]);
      return trainer(prior.parameters(), () => prior.nll(codes).mean(), [prior, codes]);
    },
    twin: { case: "vq-prior", args: { cfg, batch, frames, attention: cfg.attention } },
  };
}

function samplingCase(cache: boolean): BenchCase {
  const n = 64,
    frames = 4;
  return {
    name: cache ? "vq-sample-kv" : "vq-sample-nokv",
    description: `sample ${n} videos of ${frames} frames of 8×8 codes ${cache ? "with" : "without"} the key/value cache`,
    items: n,
    // Without the cache one step takes minutes: time a single one.
    repeat: cache ? { warmup: 1, rounds: 2, steps: 1 } : { warmup: 0, rounds: 1, steps: 1 },
    setup() {
      const prior = makePrior(frames).eval();
      return {
        step: () => noGrad(() => tidy(() => void prior.sample(n, { cache }))),
        dispose: () => prior.dispose(),
      };
    },
  };
}

export const vqCases: BenchCase[] = [
  vqvaeCase(32, 1),
  vqvaeCase(32, 4),
  priorCase(32, 1),
  priorCase(32, 4),
  samplingCase(true),
  samplingCase(false),
];
