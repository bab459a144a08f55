// Reading a trained run back: its config, the EMA weights of its latest checkpoint in a model ready to sample
// and evaluate, and helpers that give generated videos and the run's own test pseudo videos as uint8 arrays,
// cropped back to the data's own size (e.g. 28×28 for MNIST trained at 32×32). Used by `lastframe sample`,
// `lastframe eval`, the experiments and the report (its own layer, above train/: nothing in train/ reads a run
// back, except the loop's own metrics file, train/metrics.ts).
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { DataShape, ModelFamily, SampleSettings, TrainableModel } from "../models/model.js";
import { getFamily } from "../models/registry.js";
import { type Tensor, ArgumentError, CheckpointError, dispose, expected, tidy } from "../tensor/index.js";
import { isPositiveInt } from "../errors.js";
import { bestWeights, readBest } from "../train/best.js";
import { latestCheckpoint, readState, readTensorFile } from "../train/checkpoint.js";
import { loadSafetensors } from "../nn/safetensors.js";
import { type RunConfig, modelShape, readRunConfig } from "../train/config.js";
import { forEachBatch } from "../data/loader.js";
import {
  type EvalStats,
  type VideoBytes,
  cropVideos,
  evaluationVideos,
  loadRunData,
  scoreGenerated,
  scoreTestSet,
  toBytes,
  withRng,
} from "../train/data.js";

export { type MetricRecord, readMetrics } from "../train/metrics.js";
export { readSavedConfig } from "../train/config.js";

export interface Run {
  dir: string;
  config: RunConfig;
  family: ModelFamily;
  /** The EMA weights of the latest checkpoint, in eval mode. */
  model: TrainableModel;
  /** What the model sees (padded side; T = 1 for image models). */
  shape: DataShape;
  /** One generated frame as sampleVideos returns it: the data's channels and size. */
  image: { c: number; h: number; w: number };
  checkpoint: string;
  /** Training steps done at that checkpoint. */
  step: number;
}

/** The model's sample settings (models/model.ts SampleSettings), plus where and how many at a time. */
export interface SampleOptions extends SampleSettings {
  /** Seeds the samples (default 0): the same seed and batch give the same samples. */
  seed?: number;
  /** Videos generated at once (default 64). */
  batch?: number;
}

/** Opens a run folder written by `lastframe train`. */
export async function openRun(dir: string): Promise<Run> {
  const configPath = join(dir, "config.json");
  if (!existsSync(configPath)) throw new ArgumentError(`${dir} is not a run folder: it has no config.json`);
  const config = readRunConfig(configPath);
  const family = getFamily(config.model);
  const shape = modelShape(config);
  const hps = family.resolve(config.hps, config.preset);
  // Best-checkpoint selection: the weights the validation split chose, not the last ones.
  const best = config.train.selectBest ? readBest(dir) : null;
  // Read before the model is built: the less time between listing the checkpoints and reading them, the fewer
  // retries while a trainer replaces them.
  const latest = best
    ? { checkpoint: join(dir, "best"), step: best.step, weights: loadSafetensors(bestWeights(dir)).tensors }
    : readLatestEma(dir);
  const { checkpoint, step, weights } = latest;
  const model = family.create(hps, shape);
  try {
    model.loadStateDict(weights, { source: best ? bestWeights(dir) : join(checkpoint, "ema.safetensors") });
  } finally {
    dispose(weights);
  }
  model.eval();
  const image = { c: config.data.channels, h: config.data.size, w: config.data.size };
  return { dir, config, family, model, shape, image, checkpoint, step };
}

/**
 * The step and EMA weights of the latest checkpoint. A trainer still running deletes a checkpoint once a newer one
 * is complete, so a read that fails while a newer checkpoint has appeared is retried on that one (each retry
 * follows a checkpoint the trainer completed, so they end with its run).
 */
function readLatestEma(dir: string): { checkpoint: string; step: number; weights: Map<string, Tensor> } {
  for (;;) {
    const checkpoint = latestCheckpoint(dir);
    if (!checkpoint) throw new CheckpointError(`${dir} has no checkpoint yet (no ckpt-<step> folder)`);
    try {
      const { step, files } = readState(join(checkpoint, "state.json"));
      return { checkpoint, step, weights: readTensorFile(checkpoint, "ema", files) };
    } catch (err) {
      if (latestCheckpoint(dir) === checkpoint) throw err;
    }
  }
}

/** n generated videos as uint8 (n, T, C, H, W), cropped to the data's size. */
export function sampleVideos(run: Run, n: number, opts: SampleOptions = {}): VideoBytes {
  if (!isPositiveInt(n)) throw expected("positive integer", "n", n);
  const { seed, batch = 64, ...settings } = opts;
  if (!isPositiveInt(batch)) throw expected("positive integer", "batch", batch);
  const { c, h, w } = run.image;
  const T = run.shape.frames;
  const frames = new Uint8Array(n * T * c * h * w);
  withRng(seed ?? 0, () => {
    for (let done = 0; done < n; done += batch) {
      const k = Math.min(batch, n - done);
      const bytes = tidy(() => toBytes(cropVideos(run.model.sample(k, settings), run.config.data.pad)));
      frames.set(bytes, done * T * c * h * w);
    }
  });
  return { frames, shape: { n, t: T, c, h, w } };
}

/**
 * The run's own pseudo videos of its first n test images (at most all of them) as uint8 (n, T, C, H, W), cropped:
 * what its generated videos are meant to look like, drawn from the RNG stream of its test-set evaluations.
 */
export async function testVideos(run: Run, n: number): Promise<VideoBytes> {
  if (!isPositiveInt(n)) throw expected("positive integer", "n", n);
  const { test } = await loadRunData(run.config);
  const count = Math.min(n, test.n);
  const { c, h, w } = run.image;
  const T = run.shape.frames;
  const frames = new Uint8Array(count * T * c * h * w);
  let done = 0;
  const { batch } = run.config.train;
  withRng(run.config.train.seed + 2, () =>
    forEachBatch(test, { batch, pad: run.config.data.pad, limit: count }, (x, k) => {
      frames.set(
        toBytes(cropVideos(evaluationVideos(x, run.config), run.config.data.pad)),
        done * T * c * h * w,
      );
      done += k;
    }),
  );
  return { frames, shape: { n: count, t: T, c, h, w } };
}

/**
 * Test-set statistics of the run's model (e.g. bpd; for video models also last_bpd_given_true, the last frame given
 * the true earlier ones, and last_bpd_generated), computed as the training loop's evaluations are: the first `limit` test images (all by
 * default), pseudo videos drawn from seed train.seed + 2.
 */
export async function evaluateRun(
  run: Run,
  opts: {
    limit?: number;
    batch?: number;
    stage?: string;
    generated?: number;
    /** How the earlier frames of last_bpd_generated build the context (SampleSettings.context). */
    context?: SampleSettings["context"];
  } = {},
): Promise<EvalStats> {
  const data = await loadRunData(run.config);
  const stage = opts.stage ?? run.model.stages[run.model.stages.length - 1]!;
  const stats = scoreTestSet(run.model, run.config, data.test, {
    stage,
    limit: opts.limit,
    batch: opts.batch,
  });
  // Video models: also the image's bits/dim after the model's own earlier frames (a sampling pass, so on fewer
  // images: by default the first 1,000 of those scored).
  const generated = opts.generated ?? Math.min(opts.limit ?? data.test.n, 1000);
  if (run.shape.frames > 1 && run.model.lastGivenGenerated && generated > 0)
    stats.last_bpd_generated = scoreGenerated(run.model, run.config, data.test, {
      limit: generated,
      batch: opts.batch,
      context: opts.context,
    });
  return stats;
}

export function closeRun(run: Run): void {
  run.model.dispose();
}
