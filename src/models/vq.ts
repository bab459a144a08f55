// The VQ-VAE family (model name "vqvae"): stage 1 trains a VQ-VAE (vqvae.ts) on every frame of the pseudo videos,
// its weights shared by all frames; stage 2 freezes it and trains a transformer prior on the codes of all frames of
// a video (vq-video.ts), or of the single image when T = 1 (vq-prior.ts). A sample is the decoded codes of frames
// 1 … T; the generated image is the last frame (Chen et al. 2024, "Your Image is Secretly the Last Frame of a
// Pseudo Video").
//
// Statistics: the VQ-VAE stage reports reconstruction MSE (in [-1, 1] units) and PSNR (dB), codebook usage (the
// fraction of codes a batch uses) and perplexity (exp of the entropy of the batch's code histogram). The prior
// stage reports the negative log-likelihood of the codes, −ln p(code | all earlier codes) in nats per code,
// averaged over all T·g·g codes (`nats_per_code`) and over the last frame's codes (`last_nats_per_code`), and the
// latter in bits (`last_bits_per_code`): the bits per dimension of the image's discrete representation, each code
// being one dimension. The last frame's likelihood is conditional on frames 1 … T − 1, as the sampler draws it.
import { Module } from "../nn/index.js";
import { type Tensor, cat, check, expected, noGrad, pad, tidy } from "../tensor/index.js";
import { isPositiveInt } from "../errors.js";
import { resolveHps } from "./hps.js";
import {
  type DataShape,
  type LossOutput,
  type ModelFamily,
  type TrainableModel,
  type TrainDefaults,
  LAST_FRAME_WEIGHT,
  frameStats,
  frameWeights,
  weightedFrameMean,
} from "./model.js";
import { CodePrior, type PriorConfig, type SampleOptions, priorDefaults } from "./vq-prior.js";
import { VideoCodePrior, type FrameAttention, frameAttentions } from "./vq-video.js";
import { VQVAE, type VQVAEConfig, defaults as vqvaeDefaults } from "./vqvae.js";
import { psnr } from "../video/metrics.js";

// ***** configuration *****

export interface VQConfig extends VQVAEConfig, PriorConfig {
  /** Video prior only: "full" attends to all earlier codes, "first-order" to the current and previous frame. */
  attention: FrameAttention;
  /** Video prior only: the last frame's share of the loss (λ); earlier frames share 1 − λ. 0: 1/T, all alike. */
  lastFrameWeight: number;
}

export const defaults: VQConfig = {
  ...vqvaeDefaults,
  ...priorDefaults,
  attention: "full",
  lastFrameWeight: LAST_FRAME_WEIGHT,
};

export const hps = {
  // Seconds per hundred steps: for tests and smoke runs.
  tiny: {
    ...defaults,
    width: 16,
    resBlocks: 1,
    resWidth: 8,
    codes: 32,
    codeDim: 8,
    layers: 1,
    heads: 2,
    embd: 32,
  },
  // Minutes: a quick look at a data set.
  small: {
    ...defaults,
    width: 32,
    resBlocks: 1,
    resWidth: 16,
    codes: 128,
    codeDim: 16,
    layers: 2,
    heads: 2,
    embd: 64,
  },
  // MNIST with T = 4: 2000 + 1200 steps take about an hour on 2 busy cores. `defaults` is the paper-sized model.
  standard: { ...defaults, width: 64, codes: 256, codeDim: 32 },
} satisfies Record<string, VQConfig>;

// The loop starts each stage from the EMA weights of the one before and samples from EMA weights, so the EMA must
// have forgotten the random initialisation within a short stage-1 run; a slow EMA also blurs restarted codes.
export const trainDefaults: Record<keyof typeof hps, TrainDefaults> = {
  tiny: { lr: 2e-3, batch: 32, warmup: 20, emaDecay: 0.9 },
  small: { lr: 1e-3, batch: 32, warmup: 50, emaDecay: 0.99 },
  standard: { lr: 1e-3, batch: 16, warmup: 100, emaDecay: 0.995 },
};

// ***** the two-stage model *****

export const stages = ["vqvae", "prior"] as const;

export class VQModel extends Module implements TrainableModel {
  readonly stages = stages;
  vqvae: VQVAE;
  prior: CodePrior;
  readonly perFrame: number;
  readonly weights: number[];

  constructor(
    readonly cfg: VQConfig,
    readonly shape: DataShape,
  ) {
    super();
    this.vqvae = new VQVAE(cfg, shape.channels, shape.size);
    this.perFrame = cfg.grid * cfg.grid;
    this.weights = frameWeights(shape.frames, cfg.lastFrameWeight);
    this.prior =
      shape.frames === 1
        ? new CodePrior(cfg, cfg.codes, this.perFrame)
        : new VideoCodePrior(cfg, cfg.codes, this.perFrame, shape.frames, cfg.attention);
  }

  #stage(stage: string): VQVAE | CodePrior {
    if (stage === "vqvae") return this.vqvae;
    if (stage === "prior") return this.prior;
    throw expected(`one of ${stages.join(", ")}`, "stage", stage);
  }

  parametersFor(stage: string): Tensor[] {
    return this.#stage(stage).parameters();
  }

  /** Videos (B, T, C, H, W) → frames (B·T, C, H, W), checking the shape the model was built for. */
  #frames(videos: Tensor): Tensor {
    const { frames: T, channels: C, size: S } = this.shape;
    const s = videos.shape;
    check(
      s.length === 5 && s[1] === T && s[2] === C && s[3] === S && s[4] === S,
      () => `vqvae: expected videos (B, ${T}, ${C}, ${S}, ${S}), got [${s}]`,
    );
    return videos.reshape(s[0]! * T, C, S, S);
  }

  /** The frozen VQ-VAE's codes of each video, frame-major then raster order: (B, T·g·g). */
  codes(videos: Tensor): Tensor {
    return this.vqvae.encode(this.#frames(videos)).reshape(videos.size(0), -1);
  }

  /** The valid (unpadded) area of frames (N, C, S, S). */
  #valid(x: Tensor): Tensor {
    const p = this.shape.pad ?? 0;
    return p === 0 ? x : x.narrow(2, p, this.shape.size - 2 * p).narrow(3, p, this.shape.size - 2 * p);
  }

  loss(videos: Tensor, stage: string): LossOutput {
    this.#stage(stage);
    if (stage === "vqvae") {
      const { loss, stats } = this.vqvae.loss(this.#frames(videos));
      return { loss, stats: { ...stats } };
    }
    const perFrame = this.#perFrameNll(this.prior.nll(this.codes(videos)));
    return {
      loss: weightedFrameMean(perFrame, this.weights),
      stats: { nats_per_code: perFrame.mean(), last_nats_per_code: perFrame.select(1, -1).mean() },
    };
  }

  /** Per-code NLL (B, T·g·g) → mean per frame (B, T). */
  #perFrameNll(nll: Tensor): Tensor {
    return nll.view(nll.size(0), this.shape.frames, this.perFrame).mean([2]);
  }

  lastGivenGenerated(videos: Tensor): Tensor {
    return noGrad(() =>
      tidy(() => {
        const truth = this.codes(videos);
        const L = truth.size(1),
          S = this.perFrame;
        // The model's own frames 1 … T − 1 (the draw of the last frame is discarded), then the true last frame.
        const drawn = this.prior.sample(videos.size(0)).narrow(1, 0, L - S);
        const codes = cat([drawn, truth.narrow(1, L - S, S)], 1);
        return this.#perFrameNll(this.prior.nll(codes)).select(1, -1).div(Math.LN2);
      }),
    );
  }

  evaluate(videos: Tensor, stage: string): Record<string, number> {
    this.#stage(stage);
    return noGrad(() =>
      tidy((): Record<string, number> => {
        if (stage === "prior") {
          const perFrame = this.#perFrameNll(this.prior.nll(this.codes(videos)));
          const last = perFrame.select(1, -1).mean().item();
          return {
            nats_per_code: perFrame.mean().item(),
            last_nats_per_code: last,
            last_bits_per_code: last / Math.LN2,
            last_bpd_given_true: last / Math.LN2,
            ...frameStats(perFrame, "frame_bpd", 1 / Math.LN2),
          };
        }
        // Through encode and decode, never the training forward pass: evaluation must not move the codebook.
        const x = this.#frames(videos);
        const idx = this.vqvae.encode(x);
        const recon = this.vqvae.decode(idx);
        const { perplexity, usage } = this.vqvae.vq.statistics(idx);
        const db = psnr(this.#valid(recon).clamp(-1, 1), this.#valid(x)).view(videos.size(0), -1);
        return {
          recon: recon.sub(x).square().mean().item(),
          psnr: db.mean().item(),
          last_psnr: db.select(1, -1).mean().item(),
          usage: usage.item(),
          perplexity: perplexity.item(),
        };
      }),
    );
  }

  /** n videos (n, T, C, H, W) in [-1, 1]: codes from the prior, decoded frame by frame. */
  sample(n: number, opts: SampleOptions = {}): Tensor {
    return noGrad(() => {
      const { frames: T, channels: C, size: S } = this.shape;
      const g = this.cfg.grid;
      // (n, T·g·g) → (n·T, g, g)
      const codes = this.prior.sample(n, opts).view(n * T, g, g);
      let x = this.vqvae.decode(codes).clamp(-1, 1);
      const p = this.shape.pad ?? 0;
      if (p > 0) x = pad(this.#valid(x), [p, p, p, p], { value: -1 });
      return x.view(n, T, C, S, S);
    });
  }

  /** The encoder's continuous latents, flattened: (B, C, H, W) → (B, D·g·g). */
  features(images: Tensor): Tensor {
    return noGrad(() => this.vqvae.enc.forward(images).flatten(1));
  }
}

// ***** the family *****

function validate(cfg: VQConfig): VQConfig {
  const ints = ["width", "resWidth", "codes", "codeDim", "grid", "layers", "heads", "embd"] as const;
  for (const k of ints) if (!isPositiveInt(cfg[k])) throw expected("positive integer", `hps.${k}`, cfg[k]);
  if (!(Number.isInteger(cfg.resBlocks) && cfg.resBlocks >= 0))
    throw expected("non-negative integer", "hps.resBlocks", cfg.resBlocks);
  if (cfg.width % 2)
    throw expected("an even number (the first down-sampling convs use width / 2)", "hps.width", cfg.width);
  if (cfg.embd % cfg.heads) throw expected(`a multiple of heads=${cfg.heads}`, "hps.embd", cfg.embd);
  if (cfg.codebook !== "ema" && cfg.codebook !== "straight-through")
    throw expected('"ema" or "straight-through"', "hps.codebook", cfg.codebook);
  if (!(cfg.beta >= 0)) throw expected("a non-negative number", "hps.beta", cfg.beta);
  if (!(cfg.decay > 0 && cfg.decay < 1)) throw expected("a number in (0, 1)", "hps.decay", cfg.decay);
  if (!(cfg.restartBelow > 0)) throw expected("a positive number", "hps.restartBelow", cfg.restartBelow);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1))
    throw expected("a number in [0, 1)", "hps.dropout", cfg.dropout);
  frameWeights(2, cfg.lastFrameWeight); // validates λ
  if (!frameAttentions.includes(cfg.attention))
    throw expected(`one of ${frameAttentions.join(", ")}`, "hps.attention", cfg.attention);
  return cfg;
}

export const vqFamily: ModelFamily<VQConfig> = {
  name: "vqvae",
  description:
    "VQ-VAE with a transformer prior over the codes of all frames; the image is the decoded last frame",
  sampling: ["temperature", "topK", "topP"],
  bitsPerDim: false,
  hps,
  trainDefaults,
  resolve: (partial, preset) => resolveHps("vqvae", hps, defaults, partial, preset, validate),
  create: (cfg, shape) => new VQModel(cfg, shape),
};
