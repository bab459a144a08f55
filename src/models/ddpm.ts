// A denoising diffusion model (Ho et al. 2020, "Denoising Diffusion Probabilistic Models") and its video
// counterpart, in one code path (Chen et al. 2024, "Your Image is Secretly the Last Frame of a Pseudo Video").
//
// Image model: x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε with the linear or cosine schedule of diffusion-schedule.ts; a U-Net
// (unet.ts) predicts ε from (x_t, t) and trains on Ho et al.'s L_simple, the mean squared error of ε̂ at a
// uniformly drawn t. The reverse process has the fixed variance σ_t² = β̃_t (the posterior's; at t = 1 that of
// t = 2, as improved-diffusion clips it) and the mean of q(x_{t−1} | x_t, x̂_0) with x̂_0 from ε̂, clipped to
// [−1, 1]. Sampling visits K of the N timesteps with Song et al. 2021's update (DDIM):
//   x_prev = √ᾱ_prev x̂_0 + √(1 − ᾱ_prev − σ²) ε̂ + σ z,  σ² = η² (1 − ᾱ_prev)/(1 − ᾱ_t) · (1 − ᾱ_t/ᾱ_prev),
// η = 0 deterministic (`--sampler ddim`), η = 1 ancestral (`--sampler ddpm`): with K = N that is exactly Ho et
// al.'s sampler, since σ² is then β̃_t and the update the posterior mean (ε̂ is recomputed from the clipped x̂_0 so
// that this holds with clipping too); with K < N it is the ancestral sampler of the respaced chain.
//
// Likelihood: the variational bound L_N + Σ_{t=2}^N L_{t−1} + L_0 in bits per (unpadded) dimension, with L_N =
// KL(q(x_N | x_0) ‖ N(0, I)) in closed form, each L_{t−1} = KL(q(x_{t−1} | x_t, x_0) ‖ p(x_{t−1} | x_t)) =
// c0_t² ‖x_0 − x̂_0‖² / (2 β̃_t) (equal variances), L_0 = −log p(x_0 | x_1) under a Gaussian discretised to the 256
// pixel levels, as in Ho et al. The sum over t is estimated, unbiasedly, from `bpdTimesteps` draws per image:
// {2 … N} is cut into that many strata of consecutive timesteps, one t is drawn uniformly in each and its term
// weighted by the stratum's size. The strata are geometric (2 … 9, 9 … 45, … for 4 of 1,000) because the terms
// are largest and change fastest at small t, where a wide stratum would make the estimate noisy. More draws, less
// variance; the expectation is the bound either way.
//
// Video model: frame t is denoised by the same U-Net with frames 1 … t − 1 concatenated to its input as channels
// (T − 1 slots, zero where a frame does not exist yet) and a learned embedding of the frame index added to the
// timestep embedding. The input conv's weights on those channels and the frame embedding start at zero, so a fresh
// video model predicts every frame as the image model would, and with T = 1 neither exists: it *is* the image
// model. Training draws t and ε per frame and conditions on the true earlier frames (teacher forcing), weighting
// frames by `lastFrameWeight` (model.ts frameWeights); sampling generates frames 1 … T in order, each by the whole
// reverse chain, and the image is frame T.
import { Module } from "../nn/index.js";
import {
  type Tensor,
  cat,
  check,
  expected,
  noGrad,
  pad,
  rand,
  randn,
  randnLike,
  stack,
  tensor,
  tidy,
  where,
  zeros,
} from "../tensor/index.js";
import { isPositiveInt } from "../errors.js";
import { resolveHps } from "./hps.js";
import {
  type Schedule,
  type ScheduleKind,
  ddimTimesteps,
  makeSchedule,
  scheduleKinds,
} from "./diffusion-schedule.js";
import {
  type DataShape,
  type LossOutput,
  type ModelFamily,
  type SampleSettings,
  type TrainableModel,
  type TrainDefaults,
  LAST_FRAME_WEIGHT,
  frameStats,
  frameWeights,
  weightedFrameMean,
} from "./model.js";
import { UNet, type UNetConfig, validateUNet } from "./unet.js";

// ***** configuration *****

export interface DDPMConfig extends UNetConfig {
  /** N, the diffusion's timesteps. */
  timesteps: number;
  schedule: ScheduleKind;
  /** Timesteps drawn per image to estimate the bound's sum over t (see header); at most N − 1. */
  bpdTimesteps: number;
  /** Video models only: the last frame's share of the loss (λ); earlier frames share 1 − λ. 0: 1/T, all alike. */
  lastFrameWeight: number;
}

// Ho et al.'s CIFAR-10 model (35.7 M parameters): far beyond two cores, the reference the presets scale down from.
const defaults: DDPMConfig = {
  width: 128,
  channelMults: "1,2,2,2",
  resBlocks: 2,
  attentionMax: 16,
  heads: 1,
  dropout: 0.1,
  groups: 32,
  timesteps: 1000,
  schedule: "linear",
  bpdTimesteps: 16,
  lastFrameWeight: LAST_FRAME_WEIGHT,
};

const hps = {
  // Seconds per hundred steps: for tests and smoke runs.
  tiny: { ...defaults, width: 16, channelMults: "1,2", resBlocks: 1, groups: 8, dropout: 0, bpdTimesteps: 4 },
  // Minutes: a quick look at a data set.
  small: { ...defaults, width: 32, channelMults: "1,2,2", resBlocks: 1, groups: 8, bpdTimesteps: 8 },
  // Hours on 2 cores.
  standard: { ...defaults, width: 64, channelMults: "1,2,2", groups: 16 },
} satisfies Record<string, DDPMConfig>;

// Ho et al. train with Adam (no weight decay, β2 = 0.999), gradients clipped at norm 1, and sample from EMA
// weights; their decay of 0.9999 would still remember the initialisation after runs of this machine's length.
const trainDefaults: Record<keyof typeof hps, TrainDefaults> = {
  tiny: { lr: 1e-3, batch: 32, warmup: 20, emaDecay: 0.99, gradClip: 1, weightDecay: 0, beta2: 0.999 },
  small: { lr: 5e-4, batch: 32, warmup: 100, emaDecay: 0.999, gradClip: 1, weightDecay: 0, beta2: 0.999 },
  standard: { lr: 2e-4, batch: 32, warmup: 500, emaDecay: 0.9995, gradClip: 1, weightDecay: 0, beta2: 0.999 },
};

const samplers = ["ddim", "ddpm"] as const;
/** Without --steps: DDIM visits 50 timesteps (Song et al.'s usual budget), ancestral DDPM all N. */
const DDIM_STEPS = 50;

// ***** the reverse process *****

/** ε̂ for x_t at timestep t (the same for every row). */
export type EpsModel = (x: Tensor, t: number) => Tensor;

/** One coefficient per row, from per-timestep values (index t − 1): (n) → (n, 1, 1, 1). */
function perRow(values: (t: number) => number, t: number[]): Tensor {
  return tensor(t.map(values)).view(-1, 1, 1, 1);
}

/** q(x_t | x_0) drawn with the given ε, per row timestep t: √ᾱ_t x_0 + √(1 − ᾱ_t) ε. */
export function noised(s: Schedule, x0: Tensor, t: number[], eps: Tensor): Tensor {
  return x0
    .mul(perRow((i) => Math.sqrt(s.alphaBars[i - 1]!), t))
    .add(eps.mul(perRow((i) => Math.sqrt(1 - s.alphaBars[i - 1]!), t)));
}

/**
 * x̂_0 = (x_t − √(1 − ᾱ) ε̂) / √ᾱ, optionally clipped to the data's range [−1, 1]; √ᾱ and √(1 − ᾱ) per row
 * ((n, 1, 1, 1) tensors) or, when every row is at the same timestep (sampling), numbers.
 */
function predictX0(xt: Tensor, eps: Tensor, a: Tensor | number, s: Tensor | number, clip: boolean): Tensor {
  const x0 = xt.sub(eps.mul(s)).div(a);
  return clip ? x0.clamp(-1, 1) : x0;
}

/**
 * Runs the reverse process from x_N = `noise` through the timesteps `visit` (descending, ending at 1) with the
 * update in the header (η = 0: DDIM, η = 1: ancestral); returns x_0.
 */
export function reverseDiffusion(
  s: Schedule,
  eps: EpsModel,
  noise: Tensor,
  o: { visit: number[]; eta: number; clip: boolean },
): Tensor {
  let x = noise;
  o.visit.forEach((t, i) => {
    const prev = o.visit[i + 1] ?? 0;
    const ab = s.alphaBars[t - 1]!,
      abPrev = prev ? s.alphaBars[prev - 1]! : 1;
    const next = tidy(() => {
      const x0 = predictX0(x, eps(x, t), Math.sqrt(ab), Math.sqrt(1 - ab), o.clip);
      const e = x.sub(x0.mul(Math.sqrt(ab))).div(Math.sqrt(1 - ab));
      const variance = o.eta ** 2 * ((1 - abPrev) / (1 - ab)) * (1 - ab / abPrev);
      const mean = x0.mul(Math.sqrt(abPrev)).add(e.mul(Math.sqrt(Math.max(0, 1 - abPrev - variance))));
      return variance > 0 ? mean.add(randnLike(x).mul(Math.sqrt(variance))) : mean;
    });
    if (x !== noise) x.dispose();
    x = next;
  });
  return x;
}

/**
 * K strata [lo, hi) of consecutive timesteps covering {2 … N}, geometrically spaced (see header), each non-empty.
 */
export function boundStrata(N: number, K: number): [number, number][] {
  const edges = [2];
  for (let k = 1; k < K; k++) {
    const geometric = Math.round(2 * ((N + 1) / 2) ** (k / K));
    edges.push(Math.max(edges[k - 1]! + 1, Math.min(geometric, N + 1 - (K - k))));
  }
  edges.push(N + 1);
  return edges.slice(0, K).map((lo, k) => [lo, edges[k + 1]!]);
}

/** log P(x) per element for x on the 256 levels of [−1, 1] under N(mean, e^{2 logStd}) discretised to the levels. */
export function discretisedGaussianLogProb(x: Tensor, mean: Tensor, logStd: number): Tensor {
  const h = 1 / 255; // half a level
  const xd = x.to("float64"),
    c = xd.sub(mean.to("float64")).mul(Math.exp(-logStd)),
    w = h * Math.exp(-logStd);
  const cdf = (z: Tensor) => z.mul(Math.SQRT1_2).erf().add(1).mul(0.5);
  // Interior levels: the bin's mass is symmetric in the sign of c, so take the side where Φ has no cancellation.
  const a = c.abs().neg();
  const interior = cdf(a.add(w)).sub(cdf(a.sub(w)));
  // The end levels' bins reach to ±∞.
  const p = where(xd.gt(0.999), cdf(c.neg().add(w)), where(xd.lt(-0.999), cdf(c.add(w)), interior));
  return p.clamp(1e-12).log().to("float32");
}

// ***** the model *****

/** Picks frame-index embeddings (T, D) for rows: every frame of B videos (B·T rows), or one frame for all rows. */
type FrameIndex = (embedding: Tensor) => Tensor;
const everyFrame =
  (B: number): FrameIndex =>
  (e) =>
    e.repeat(B, 1); // (T, D) → (B·T, D)
const oneFrame =
  (t: number, n: number): FrameIndex =>
  (e) =>
    e.narrow(0, t, 1).expand(n, -1);

function checkStage(stage: string): void {
  check(stage === "main", () => `ddpm has one stage, "main", not ${JSON.stringify(stage)}`);
}

export class DDPM extends Module implements TrainableModel {
  readonly stages = ["main"] as const;
  unet: UNet;
  /** Video models: an embedding per frame index (T, 4·width), added to the timestep embedding (absent for T = 1). */
  frame?: Tensor;
  readonly schedule: Schedule;
  readonly weights: number[];

  constructor(
    readonly cfg: DDPMConfig,
    readonly shape: DataShape,
  ) {
    super();
    const { channels: C, frames: T } = shape;
    this.schedule = makeSchedule(cfg.schedule, cfg.timesteps);
    this.weights = frameWeights(T, cfg.lastFrameWeight);
    this.unet = new UNet(cfg, { inChannels: C * T, outChannels: C, size: shape.size });
    if (T > 1) {
      // Zero: the video model starts as the image model (see header).
      noGrad(() => this.unet.input.weight.narrow(1, C, C * (T - 1)).zero_());
      this.frame = this.param(zeros([T, this.unet.embDim]));
    }
  }

  parametersFor(stage: string): Tensor[] {
    checkStage(stage);
    return this.parameters();
  }

  /** Videos (B, T, C, H, W) → frames (B·T, C, H, W), checking the shape the model was built for. */
  #frames(videos: Tensor): Tensor {
    const { frames: T, channels: C, size: S } = this.shape;
    const s = videos.shape;
    check(
      s.length === 5 && s[1] === T && s[2] === C && s[3] === S && s[4] === S,
      () => `ddpm: expected videos (B, ${T}, ${C}, ${S}, ${S}), got [${s}]`,
    );
    return videos.reshape(s[0]! * T, C, S, S);
  }

  /**
   * What every frame of (B, T, C, H, W) sees of the earlier ones: (B·T, (T − 1)·C, H, W), slot j holding frame j
   * for the frames after it and zeros otherwise; null for T = 1.
   */
  #context(videos: Tensor): Tensor | null {
    const [B, T, C, H, W] = videos.shape as [number, number, number, number, number];
    if (T === 1) return null;
    // earlier[t][j] = 1 when j < t: (T, T − 1)
    const earlier = tensor(
      Array.from({ length: T }, (_, t) => Array.from({ length: T - 1 }, (_, j) => (j < t ? 1 : 0))),
    );
    return videos
      .narrow(1, 0, T - 1)
      .unsqueeze(1) // (B, 1, T − 1, C, H, W)
      .mul(earlier.view(1, T, T - 1, 1, 1, 1))
      .reshape(B * T, (T - 1) * C, H, W);
  }

  /** ε̂ for frames x_t (N, C, H, W) at per-row timesteps t, given their context and frame index. */
  #predict(xt: Tensor, t: number[], context: Tensor | null, frame: FrameIndex): Tensor {
    const input = context ? cat([xt, context], 1) : xt;
    return this.unet.forward(input, tensor(t), this.frame ? frame(this.frame) : null);
  }

  /** n timesteps drawn uniformly from {lo, …, lo + count − 1} with the global generator. */
  #drawTimesteps(n: number, lo: number, count: number): number[] {
    const u = tidy(() => rand([n]).data() as Float32Array);
    return Array.from(u, (v) => lo + Math.min(count - 1, Math.floor(v * count)));
  }

  loss(videos: Tensor, stage: string): LossOutput {
    checkStage(stage);
    const x0 = this.#frames(videos);
    const [B, T] = videos.shape as [number, number];
    const t = this.#drawTimesteps(x0.size(0), 1, this.cfg.timesteps);
    const eps = randnLike(x0);
    const epsHat = this.#predict(noised(this.schedule, x0, t, eps), t, this.#context(videos), everyFrame(B));
    // Over every pixel, the loader's constant border too: it is part of what a sample must reproduce.
    const perFrame = epsHat.sub(eps).square().mean([1, 2, 3]).view(B, T);
    return {
      loss: weightedFrameMean(perFrame, this.weights),
      stats: { mse: perFrame.mean(), last_mse: perFrame.select(1, -1).mean() },
    };
  }

  /** The data area of frames (N, C, S, S): the loader's border is not data (DataShape.pad). */
  #valid(x: Tensor): Tensor {
    const p = this.shape.pad ?? 0;
    return p === 0 ? x : x.narrow(2, p, this.shape.size - 2 * p).narrow(3, p, this.shape.size - 2 * p);
  }

  /** Data dimensions per frame that the bound covers. */
  get dims(): number {
    const s = this.shape.size - 2 * (this.shape.pad ?? 0);
    return this.shape.channels * s * s;
  }

  /** Per-element values (N, C, S, S) summed over each frame's data area → (N). */
  #sum(x: Tensor): Tensor {
    return this.#valid(x).sum([1, 2, 3]);
  }

  /**
   * The variational bound per frame in bits per dimension, (B, T), each frame given the true earlier ones (the
   * estimate in the header), and its prior and decoder terms.
   */
  bound(videos: Tensor): { total: Tensor; prior: Tensor; decoder: Tensor } {
    const s = this.schedule,
      N = this.cfg.timesteps;
    const x0 = this.#frames(videos);
    const [B, T] = videos.shape as [number, number];
    const n = x0.size(0);
    const context = this.#context(videos);
    const frame = everyFrame(B);
    const denoised = (t: number[]) => {
      const xt = noised(s, x0, t, randnLike(x0));
      const a = perRow((i) => Math.sqrt(s.alphaBars[i - 1]!), t),
        b = perRow((i) => Math.sqrt(1 - s.alphaBars[i - 1]!), t);
      return predictX0(xt, this.#predict(xt, t, context, frame), a, b, true);
    };
    // L_N: KL(N(√ᾱ_N x_0, 1 − ᾱ_N) ‖ N(0, 1)) = ½ (σ² + μ² − 1 − ln σ²)
    const abN = s.alphaBars[N - 1]!;
    const prior = this.#sum(
      x0
        .square()
        .mul(abN)
        .add(1 - abN - 1 - Math.log(1 - abN))
        .mul(0.5),
    );
    // L_0 with the variance of t = 2 (β̃_1 = 0)
    const logStd = 0.5 * Math.log(s.posteriorVariance[1]!);
    const decoder = this.#sum(
      discretisedGaussianLogProb(x0, denoised(Array<number>(n).fill(1)), logStd),
    ).neg();
    let total = prior.add(decoder);
    for (const [lo, hi] of boundStrata(N, this.cfg.bpdTimesteps)) {
      const t = this.#drawTimesteps(n, lo, hi - lo);
      const weight = perRow(
        (i) => ((hi - lo) * s.posteriorX0[i - 1]! ** 2) / (2 * s.posteriorVariance[i - 1]!),
        t,
      );
      total = total.add(this.#sum(x0.sub(denoised(t)).square().mul(weight)));
    }
    const bpd = (x: Tensor) => x.div(this.dims * Math.LN2).view(B, T);
    return { total: bpd(total), prior: bpd(prior), decoder: bpd(decoder) };
  }

  evaluate(videos: Tensor, stage: string): Record<string, number> {
    checkStage(stage);
    return noGrad(() =>
      tidy(() => {
        const { total, prior, decoder } = this.bound(videos);
        const last = total.select(1, -1).mean().item();
        return {
          bpd: total.mean().item(),
          last_bpd: last,
          last_bpd_given_true: last,
          prior_bpd: prior.mean().item(),
          decoder_bpd: decoder.mean().item(),
          ...frameStats(total, "frame_bpd"),
        };
      }),
    );
  }

  lastGivenGenerated(videos: Tensor, opts: SampleSettings = {}): Tensor {
    return noGrad(() =>
      tidy(() => {
        const T = this.shape.frames;
        if (T === 1) return this.bound(videos).total.select(1, 0);
        // The model's own frames 1 … T − 1, then the true last frame.
        const drawn = this.#generate(videos.size(0), T - 1, opts);
        return this.bound(cat([drawn, videos.narrow(1, T - 1, 1)], 1)).total.select(1, -1);
      }),
    );
  }

  /** Sets the padded border of frames (N, C, H, W) back to −1, as the loader pads. */
  #clearPad(x: Tensor): Tensor {
    const p = this.shape.pad ?? 0;
    return p === 0 ? x : pad(this.#valid(x), [p, p, p, p], { value: -1 });
  }

  /** The first `count` frames of n generated videos, (n, count, C, H, W). */
  #generate(n: number, count: number, opts: SampleSettings): Tensor {
    const sampler = opts.sampler ?? "ddim";
    if (!samplers.includes(sampler)) throw expected(`one of ${samplers.join(", ")}`, "--sampler", sampler);
    const N = this.cfg.timesteps;
    const visit = ddimTimesteps(N, opts.steps ?? (sampler === "ddim" ? Math.min(DDIM_STEPS, N) : N));
    const { channels: C, size: S, frames: T } = this.shape;
    const frames: Tensor[] = [];
    for (let f = 0; f < count; f++) {
      // Slots of the frames not generated yet stay zero, as in training.
      const blank = f < T - 1 ? [zeros([n, (T - 1 - f) * C, S, S])] : [];
      const context = T === 1 ? null : cat([...frames, ...blank], 1);
      const eps: EpsModel = (x, t) => this.#predict(x, Array<number>(n).fill(t), context, oneFrame(f, n));
      const x = reverseDiffusion(this.schedule, eps, randn([n, C, S, S]), {
        visit,
        eta: sampler === "ddpm" ? 1 : 0,
        clip: true,
      });
      frames.push(this.#clearPad(x));
    }
    return stack(frames, 1);
  }

  /** n videos (n, T, C, H, W) in [−1, 1], under no-grad: `sampler` and `steps` choose the reverse process. */
  sample(n: number, opts: SampleSettings = {}): Tensor {
    if (!isPositiveInt(n)) throw expected("positive integer", "n", n);
    return noGrad(() => this.#generate(n, this.shape.frames, opts));
  }
}

// ***** the family *****

function validate(cfg: DDPMConfig): DDPMConfig {
  validateUNet(cfg);
  if (!(isPositiveInt(cfg.timesteps) && cfg.timesteps >= 2))
    throw expected("an integer ≥ 2", "hps.timesteps", cfg.timesteps);
  if (!scheduleKinds.includes(cfg.schedule))
    throw expected(`one of ${scheduleKinds.join(", ")}`, "hps.schedule", cfg.schedule);
  if (!(isPositiveInt(cfg.bpdTimesteps) && cfg.bpdTimesteps < cfg.timesteps))
    throw expected(`an integer in 1 … ${cfg.timesteps - 1}`, "hps.bpdTimesteps", cfg.bpdTimesteps);
  frameWeights(2, cfg.lastFrameWeight); // validates λ
  return cfg;
}

export const ddpmFamily: ModelFamily<DDPMConfig> = {
  name: "ddpm",
  description:
    "denoising diffusion (ε-prediction U-Net); its video counterpart denoises each frame given earlier ones",
  sampling: ["sampler", "steps"],
  bitsPerDim: true,
  hps,
  trainDefaults,
  resolve: (partial, preset) => resolveHps("ddpm", hps, defaults, partial, preset, validate),
  create: (cfg, shape) => new DDPM(cfg, shape),
};
