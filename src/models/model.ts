// The contract between models and the machinery that trains, samples and evaluates them (src/train, src/eval,
// src/cli). A model family is an image model and its video counterpart in one code path: it always sees
// pseudo videos (B, T, C, H, W) with pixels in [-1, 1], the clean image as the last frame; T = 1 is the image
// model. Families register themselves in registry.ts.
import type { Module } from "../nn/index.js";
import { type Tensor, expected, tensor } from "../tensor/index.js";

/** What the data gives a model: its shape, fixed when the model is built. */
export interface DataShape {
  channels: number;
  size: number;
  frames: number;
  /**
   * Border pixels the loader added around each image (value −1, e.g. 28×28 MNIST padded to 32): not data, so
   * likelihoods leave them out and samples reset them. 0 or absent: none.
   */
  pad?: number;
}

export interface LossOutput {
  /** The scalar to minimise. */
  loss: Tensor;
  /** Named statistics for logs (e.g. { elbo, distortion, rate } in nats per dimension), as scalars. */
  stats: Record<string, Tensor>;
}

export interface TrainableModel extends Module {
  /** Training stages in order; most models have one ("main"); VQ-VAE has "vqvae" then "prior". */
  readonly stages: readonly string[];
  /** The parameters the optimizer of `stage` updates. */
  parametersFor(stage: string): import("../tensor/index.js").Tensor[];
  /** Loss on a batch of pseudo videos (B, T, C, H, W). */
  loss(videos: Tensor, stage: string): LossOutput;
  /**
   * Evaluation statistics on a test batch, averaged by the caller. Every family reports, for its last stage,
   * `frame_bpd/<t>` (t = 1 … T: frame t's negative log-likelihood given the true frames before it, in bits per
   * dimension of what the model scores: pixels for likelihood models, codes for a code prior) and
   * `last_bpd_given_true` (the last of them), so that rows trained on different pseudo videos compare on the
   * image's own likelihood.
   */
  evaluate(videos: Tensor, stage: string): Record<string, number>;
  /**
   * Per video (B): the last frame's bits per dimension when the model draws frames 1 … T − 1 itself and is then
   * scored on the true last frame. The drawn frames belong to some other image than the scored one, so this is not
   * the image's likelihood: averaged over videos it is the one-draw (Jensen) upper bound on the image's marginal
   * bits/dim under the video model, −log₂ E_v p(x | v) ≤ E_v[−log₂ p(x | v)], loose by how much the last frame
   * depends on the earlier ones. With T = 1 it is the image's bits/dim. `opts` are the sample settings the earlier
   * frames are drawn with (e.g. the HVAE's context from the likelihood's mean: the exposure-bias comparison).
   */
  lastGivenGenerated?(videos: Tensor, opts?: SampleSettings): Tensor;
  /**
   * n generated videos (n, T, C, H, W) in [-1, 1]; the generated image is the last frame. topK / topP truncate
   * the distributions of models that draw discrete codes (the VQ-VAE's prior); `pixels: "mean"` shows the
   * expected value of a per-pixel likelihood instead of a draw from it (the HVAE's); other models ignore them.
   */
  sample(n: number, opts?: SampleSettings): Tensor;
  /** Frozen features of clean images (B, C, H, W) → (B, D), for linear probes. */
  features?(images: Tensor): Tensor;
}

export interface SampleSettings {
  temperature?: number;
  topK?: number;
  topP?: number;
  pixels?: "sample" | "mean";
  /** Video models: build the context of later frames from the drawn pixels or the likelihood's mean (HVAE). */
  context?: "sample" | "mean";
  /** Diffusion models: the reverse process, deterministic DDIM or ancestral DDPM. */
  sampler?: "ddim" | "ddpm";
  /** Diffusion models: the timesteps the reverse process visits (by default DDIM 50, DDPM all of them). */
  steps?: number;
}

/** Training settings a family suggests for a preset; flags and config files override them. */
export interface TrainDefaults {
  lr?: number;
  batch?: number;
  warmup?: number;
  /** Clip the global gradient norm to this. */
  gradClip?: number;
  /** Skip (and count) updates whose gradient norm exceeds this. */
  skipThreshold?: number;
  emaDecay?: number;
  weightDecay?: number;
  /** Adam's β2. */
  beta2?: number;
}

export interface ModelFamily<C extends object = object> {
  readonly name: string;
  readonly description: string;
  /** The sample settings its models use (the others they ignore), so that a user asking for another is told. */
  readonly sampling: readonly (keyof SampleSettings)[];
  /** Whether its evaluation reports the image's bits/dim (a likelihood of the pixels; a VQ prior's is of codes). */
  readonly bitsPerDim: boolean;
  /** Named hyperparameter sets: at least tiny (tests), small (minutes), standard (experiments). */
  readonly hps: Record<string, C>;
  /** Training settings per preset name (optional; the loop has defaults for the rest). */
  readonly trainDefaults?: Record<string, TrainDefaults>;
  /** Validates a config (unknown keys, wrong types, bad values) and returns it complete; throws ArgumentError. */
  resolve(partial: Partial<C> & object, preset: string): C;
  create(cfg: C, shape: DataShape): TrainableModel;
}

/**
 * The default λ of every family: 0, which means 1/T (every frame alike, the paper's Σ_t ELBO). Chosen by the sweep
 * in README ("Choosing λ"): a larger λ lowered the last frame's bits given the true earlier frames, but FD on
 * samples did not move with it, so nothing favoured changing the loss.
 */
export const LAST_FRAME_WEIGHT = 0;

/**
 * Loss weights of frames 1 … T: the last frame, the only one a user sees, gets `lastFrameWeight` (λ) and the earlier
 * frames share 1 − λ equally; λ = 0 stands for 1/T (Σ_t ELBO_t / T), and T = 1 is the image loss.
 */
export function frameWeights(frames: number, lastFrameWeight: number): number[] {
  if (!(lastFrameWeight >= 0 && lastFrameWeight <= 1))
    throw expected("a number in [0, 1] (0: 1/T)", "hps.lastFrameWeight", lastFrameWeight);
  if (frames === 1) return [1];
  const last = lastFrameWeight || 1 / frames;
  return [...Array<number>(frames - 1).fill((1 - last) / (frames - 1)), last];
}

/** Σ_t w_t · mean over videos of per-frame losses (B, T) → a scalar. */
export function weightedFrameMean(perFrame: Tensor, weights: number[]): Tensor {
  return perFrame.mean([0]).mul(tensor(weights)).sum();
}

/** Per-frame means of (B, T) as `<key>/<t>` statistics (t from 1), scaled by `scale`. */
export function frameStats(perFrame: Tensor, key: string, scale = 1): Record<string, number> {
  const means = perFrame.mean([0]).mul(scale).data() as Float32Array;
  return Object.fromEntries([...means].map((v, t) => [`${key}/${t + 1}`, v]));
}
