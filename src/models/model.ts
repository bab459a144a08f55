// The contract between models and the machinery that trains, samples and evaluates them (src/train, src/eval,
// src/cli). A model family is an image model and its video counterpart in one code path: it always sees
// pseudo videos (B, T, C, H, W) with pixels in [-1, 1], the clean image as the last frame; T = 1 is the image
// model. Families register themselves in registry.ts.
import type { Module } from "../nn/index.js";
import type { Tensor } from "../tensor/index.js";

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
  /** Evaluation statistics on a test batch (e.g. bits/dim), averaged by the caller. */
  evaluate(videos: Tensor, stage: string): Record<string, number>;
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
