// A run's data: the data set, what the model trains and is evaluated on, and the RNG discipline around it.
//
// Pseudo videos come from src/video and are quantised to the 8-bit grid (the likelihood is over 8-bit pixels;
// blur and noise leave values between levels and noise can leave [−1, 1]). The data-size control reshapes the
// T frames of each video into T separate images, so an image model sees the same frames per step.
import { type ImageSet, holdOutValidation, loadDataset, withTestSplit } from "../data/index.js";
import { forEachBatch } from "../data/loader.js";
import type { SampleSettings, TrainableModel } from "../models/model.js";
import {
  type Tensor,
  ArgumentError,
  getRngState,
  keep,
  manualSeed,
  setRngState,
  tidy,
} from "../tensor/index.js";
import { makeVideos } from "../video/index.js";
import type { RunConfig } from "./config.js";

/**
 * A run's data: the train split, minus `data.validation` images held out as the validation split (never trained
 * on; what best-checkpoint selection scores; data/splits.ts holdOutValidation chooses them), and the test split. Training, sampling and evaluating a run
 * all read it here, so a folder without a test split has the same images held out as test every time.
 */
export async function loadRunData(
  cfg: RunConfig,
): Promise<{ train: ImageSet; test: ImageSet; validation: ImageSet | null }> {
  const d = withTestSplit(
    await loadDataset(cfg.data.name, { limit: cfg.data.limit ?? undefined, progress: false }),
  );
  const v = cfg.data.validation;
  if (v === 0) return { train: d.train, test: d.test, validation: null };
  if (v >= d.train.n)
    throw new ArgumentError(
      `data.validation ${v} leaves no training images: ${cfg.data.name}'s train split has ${d.train.n}`,
    );
  return { ...holdOutValidation(d.train, v), test: d.test };
}

/** Images (B, C, H, W) in [−1, 1] → what the model trains on: (B, T, C, H, W), or (B·T, 1, C, H, W) as images. */
export function trainingVideos(images: Tensor, cfg: RunConfig): Tensor {
  return tidy(() => {
    const v = quantise(makeVideos(images, cfg.spec));
    const [B, T, C, H, W] = v.shape as [number, number, number, number, number];
    return cfg.framesAsImages ? v.reshape(B * T, 1, C, H, W) : v; // (B, T, C, H, W) → (B·T, 1, C, H, W)
  });
}

/** Test images → what evaluation scores: the clean image for image models (the control included), else videos. */
export function evaluationVideos(images: Tensor, cfg: RunConfig): Tensor {
  return cfg.framesAsImages || cfg.frames === 1
    ? images.unsqueeze(1)
    : tidy(() => quantise(makeVideos(images, cfg.spec)));
}

/** Rounds to the nearest of the 256 levels k/127.5 − 1. */
export function quantise(x: Tensor): Tensor {
  return tidy(() => x.clamp(-1, 1).add(1).mul(127.5).round().div(127.5).sub(1));
}

/** n uint8 videos (n, T, C, H, W) and their shape. */
export interface VideoBytes {
  frames: Uint8Array;
  shape: { n: number; t: number; c: number; h: number; w: number };
}

/** Frame `index` (0-based) of each of n uint8 videos (n, T, C, H, W) → (n, C, H, W). */
export function videoFrame(frames: Uint8Array, shape: VideoBytes["shape"], index: number): Uint8Array {
  const size = shape.c * shape.h * shape.w;
  const out = new Uint8Array(shape.n * size);
  for (let i = 0; i < shape.n; i++) {
    const start = (i * shape.t + index) * size;
    out.set(frames.subarray(start, start + size), i * size);
  }
  return out;
}

/** The last frame of each of n uint8 videos (n, T, C, H, W) → (n, C, H, W). */
export const lastFrames = (frames: Uint8Array, shape: VideoBytes["shape"]) =>
  videoFrame(frames, shape, shape.t - 1);

/** Float frames in [−1, 1] → uint8 bytes. */
export function toBytes(x: Tensor): Uint8Array {
  return tidy(() => x.clamp(-1, 1).add(1).mul(127.5).round().to("uint8").data() as Uint8Array);
}

/**
 * Runs fn on its own RNG stream seeded by `seed`, then puts the global generator back where it was: evaluations
 * and sample grids then never change the training run's random numbers, however often they happen.
 */
export function withRng<T>(seed: number, fn: () => T): T {
  const saved = getRngState();
  try {
    manualSeed(seed);
    return fn();
  } finally {
    setRngState(saved);
    saved.dispose();
  }
}

/** Cuts the loader's padding off videos (N, T, C, S, S) → (N, T, C, S−2p, S−2p). */
export function cropVideos(videos: Tensor, pad: number): Tensor {
  if (pad === 0) return videos;
  const s = videos.size(3);
  return videos.narrow(3, pad, s - 2 * pad).narrow(4, pad, s - 2 * pad);
}

/**
 * A model's test-set statistics (model.evaluate averaged over the first `limit` test images, all by default),
 * on test videos drawn from their own RNG stream (seed train.seed + 2): the same videos at every evaluation.
 */
export function scoreTestSet(
  model: TrainableModel,
  cfg: RunConfig,
  test: ImageSet,
  o: { stage: string; limit?: number; batch?: number },
): EvalStats {
  const sums: Record<string, number> = {};
  let count = 0;
  withRng(cfg.train.seed + 2, () =>
    forEachBatch(test, { batch: o.batch ?? cfg.train.batch, pad: cfg.data.pad, limit: o.limit }, (x, n) => {
      for (const [k, v] of Object.entries(model.evaluate(evaluationVideos(x, cfg), o.stage)))
        sums[k] = (sums[k] ?? 0) + v * n;
      count += n;
    }),
  );
  return nestFrameStats(Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / count])));
}

/**
 * The mean of model.lastGivenGenerated over the first `limit` test videos (the same videos as scoreTestSet's): the
 * image's bits/dim when the model draws the earlier frames itself. Its own RNG stream (seed train.seed + 4).
 */
export function scoreGenerated(
  model: TrainableModel,
  cfg: RunConfig,
  test: ImageSet,
  o: { limit: number; batch?: number; context?: SampleSettings["context"] },
): number {
  const videos: Tensor[] = [];
  let sum = 0,
    count = 0;
  withRng(cfg.train.seed + 2, () =>
    forEachBatch(test, { batch: o.batch ?? cfg.train.batch, pad: cfg.data.pad, limit: o.limit }, (x) => {
      videos.push(keep(evaluationVideos(x, cfg)));
    }),
  );
  withRng(cfg.train.seed + 4, () => {
    for (const v of videos) {
      sum += tidy(() => model.lastGivenGenerated!(v, { context: o.context }).sum().item());
      count += v.size(0);
      v.dispose();
    }
  });
  return sum / count;
}

/** Test-set statistics: numbers, and per-frame lists (index t − 1 holds frame t). */
export type EvalStats = Record<string, number | number[]>;

/** `frame_bpd/1`, `frame_bpd/2`, … (as models report them) → `frame_bpd: [ … ]`. */
function nestFrameStats(flat: Record<string, number>): EvalStats {
  const out: EvalStats = {};
  for (const [k, v] of Object.entries(flat)) {
    const m = /^(.+)\/(\d+)$/.exec(k);
    if (!m) out[k] = v;
    else ((out[m[1]!] ??= []) as number[])[Number(m[2]) - 1] = v;
  }
  return out;
}
