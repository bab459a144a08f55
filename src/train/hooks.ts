// The step hooks a training run composes around the engine (engine.ts), in the order they run after a step:
// metrics JSONL, the progress bar, the divergence guard, evaluation (and best-weights selection), sample grids,
// checkpoints, and the stop for an interruption (stopAt). The ones that write files are the rank-0 work of a
// data-parallel run: loop.ts leaves them out where `isMain` is false.
import { join } from "node:path";
import type { ImageSet, Progress } from "../data/index.js";
import type { TrainableModel } from "../models/model.js";
import type { AdamW, Ema } from "../nn/index.js";
import { getRngState, tidy } from "../tensor/index.js";
import { writeGrid, writeVideoGrid } from "../modality/image-grid.js";
import { appendText } from "../util/atomic.js";
import { readBest, writeBest } from "./best.js";
import { type CheckpointState, latestCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { type RunConfig, modelShape } from "./config.js";
import { type EvalStats, cropVideos, lastFrames, scoreTestSet, toBytes, withRng } from "./data.js";
import type { StepHook } from "./engine.js";
import type { BatchLoader } from "../data/loader.js";

/** The run stopped itself: persistent non-finite losses or gradients. */
export class TrainingError extends Error {
  override name = "TrainingError";
}

type Hook = StepHook<CheckpointState>;
type Record_ = Record<string, unknown>;

/** What the hooks of one stage share: the run, its weights and its clock. */
export interface HookContext {
  dir: string;
  cfg: RunConfig;
  output: "bar" | "json" | "quiet";
  /** Whether this stage is the run's last (best weights are selected there). */
  lastStage: boolean;
  model: TrainableModel;
  ema: Ema;
  /** A second model the EMA weights are copied into for evaluation and samples. */
  evalModel: TrainableModel;
  test: ImageSet;
  validation: ImageSet | null;
  loader: BatchLoader;
  opt: AdamW;
  bar: Progress;
  /** Seconds of training so far (resumed runs include the time before). */
  seconds: () => number;
  /** Appends one metrics record (metrics.jsonl; stdout too in json output). */
  record: (rec: Record_) => void;
  /** Holds the latest evaluation (TrainResult.eval). */
  evals: { last: EvalStats | null };
  /** More numbers for each evaluation of the last stage (TrainOptions.evalExtra). */
  evalExtra?: EvalExtra;
}

/**
 * Extra numbers for an evaluation record, from the model holding the EMA weights (e.g. FD of a few samples for a
 * learning curve, which needs the feature nets of a layer above this one). It must draw its random numbers inside
 * its own withRng stream, so that it never changes the training run.
 */
export type EvalExtra = (model: TrainableModel, cfg: RunConfig) => Record<string, number>;

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** metrics.jsonl's writer: one JSON line per record, echoed on stdout for json output. */
export function recorder(dir: string, output: HookContext["output"]): (rec: Record_) => void {
  const path = join(dir, "metrics.jsonl");
  return (rec) => {
    const line = JSON.stringify(rec);
    appendText(path, line + "\n");
    if (output === "json") process.stdout.write(line + "\n");
  };
}

/** A "train" record every step: the loss and its terms, gradient norm, learning rate, speed, skips. */
export function metricsHook(ctx: HookContext): Hook {
  return (r) =>
    ctx.record({
      type: "train",
      stage: r.stage,
      step: r.counters.step,
      time: round(ctx.seconds()),
      loss: r.loss,
      ...r.stats,
      grad_norm: r.gradNorm,
      lr: r.lr,
      images_per_s: round(r.imagesPerS),
      skipped: r.counters.skipped,
    });
}

export function progressHook(ctx: HookContext): Hook {
  return (r) =>
    ctx.bar.update(r.counters.stageStep, {
      loss: r.loss,
      "img/s": r.imagesPerS,
      ...(r.counters.skipped ? { skipped: r.counters.skipped } : {}),
    });
}

/** maxBadSteps non-finite steps in a row stop the run, keeping the last good checkpoint. */
export function divergenceGuard(ctx: HookContext): Hook {
  return (r) => {
    const bad = r.counters.badInARow;
    if (bad < ctx.cfg.train.maxBadSteps) return;
    ctx.bar.done();
    const good = latestCheckpoint(ctx.dir);
    throw new TrainingError(
      `training stopped at step ${r.counters.step}: the loss or its gradients were not finite for ${bad} steps in a row ` +
        `(try a lower --lr or train.gradClip). ${good ? `The last good checkpoint is ${good}` : "No checkpoint was written"}; nothing was saved after the divergence.`,
    );
  };
}

const due = (r: { end: boolean; counters: { stageStep: number } }, every: number) =>
  r.end || r.counters.stageStep % every === 0;

/** Every log.evalEvery steps: test-set statistics of the EMA weights, and the best-so-far on validation. */
export function evalHook(ctx: HookContext): Hook {
  return (r) => {
    if (!due(r, ctx.cfg.log.evalEvery)) return;
    const { stage } = r;
    const step = r.counters.step;
    const stats = evalRecord(ctx, stage, step, r.counters.stageStep);
    if (ctx.cfg.train.selectBest && ctx.lastStage) {
      const value = keepIfBest(ctx, stage, step);
      ctx.record({ type: "validation", stage, step, time: round(ctx.seconds()), ...value });
    }
    if (ctx.output === "bar")
      ctx.bar.log(
        `step ${step}: ${Object.entries(stats)
          .map(
            ([k, v]) => `${k} ${typeof v === "number" ? v.toFixed(4) : v.map((x) => x.toFixed(3)).join("/")}`,
          )
          .join(", ")}`,
      );
  };
}

/**
 * Scores the EMA weights on the test set (plus the caller's evalExtra in the last stage) and records an "eval"
 * line with the frames processed so far in this stage (stage steps × batch × T: the compute axis of a learning
 * curve, beside the step). Also the step-0 evaluation of a warm start, so its curve begins where its source ended.
 */
export function evalRecord(ctx: HookContext, stage: string, step: number, stageStep: number): EvalStats {
  const stats = evaluate(ctx, ctx.test, stage, ctx.cfg.log.evalImages || undefined);
  if (ctx.evalExtra && ctx.lastStage) Object.assign(stats, ctx.evalExtra(ctx.evalModel, ctx.cfg));
  ctx.evals.last = stats;
  const frames_seen = stageStep * ctx.cfg.train.batch * ctx.cfg.frames;
  ctx.record({ type: "eval", stage, step, time: round(ctx.seconds()), frames_seen, ...stats });
  return stats;
}

/** Every log.sampleEvery steps: samples/step-<step>.png (and -videos.png) from the EMA weights. */
export function samplesHook(ctx: HookContext): Hook {
  return async (r) => {
    if (!due(r, ctx.cfg.log.sampleEvery)) return;
    const name = `step-${String(r.counters.step).padStart(6, "0")}`;
    await writeSamples(ctx, join(ctx.dir, "samples", name));
  };
}

/**
 * Every log.checkpointEvery steps, at the stage's end and at an interruption (stopAt). A checkpoint due during a
 * run of non-finite steps waits for the next good step: saved then, it would replace the last good checkpoint with
 * one from inside what may be a divergence. The end of a stage and an interruption are saved as they are.
 */
export function checkpointHook(ctx: HookContext, stopAt: number | undefined): Hook {
  let pending = false;
  return (r) => {
    const stopping = r.counters.step === stopAt;
    pending ||= due(r, ctx.cfg.log.checkpointEvery);
    if ((pending && r.counters.badInARow === 0) || r.end || stopping) {
      checkpoint(ctx, r.counters);
      pending = false;
    }
  };
}

/** Ends the run after step `stopAt` (an interruption, for tests). */
export function stopHook(stopAt: number | undefined): Hook {
  return (r) => (r.counters.step === stopAt ? "stop" : undefined);
}

// ***** what the hooks do *****

function checkpoint(ctx: HookContext, counters: CheckpointState): void {
  const rng = getRngState();
  const optim = ctx.opt.stateDict();
  const state: CheckpointState = {
    ...counters,
    loader: ctx.loader.state(),
    optimizer: optim.meta,
    rng: Buffer.from(rng.data() as Uint8Array).toString("base64"),
    seconds: ctx.seconds(),
  };
  rng.dispose();
  saveCheckpoint(ctx.dir, state, { model: ctx.model.stateDict(), ema: ctx.ema.shadow, optim: optim.tensors });
}

/** Statistics of the EMA weights on `set` (its first `limit` images). */
function evaluate(ctx: HookContext, set: ImageSet, stage: string, limit?: number): EvalStats {
  ctx.ema.copyTo(ctx.evalModel);
  return scoreTestSet(ctx.evalModel, ctx.cfg, set, { stage, limit });
}

/**
 * Scores the EMA weights on the validation split and, if their last_bpd_given_true is the lowest so far, keeps
 * them as the run's best (best.ts). Returns the validation statistics.
 */
function keepIfBest(ctx: HookContext, stage: string, step: number): EvalStats {
  const stats = evaluate(ctx, ctx.validation!, stage);
  const value = stats.last_bpd_given_true as number;
  const best = readBest(ctx.dir);
  if (!best || value < best.value) writeBest(ctx.dir, ctx.evalModel, { step, value });
  return stats;
}

/** Writes <prefix>.png (last frames) and, for videos, <prefix>-videos.png (one video per row). */
async function writeSamples(ctx: HookContext, prefix: string): Promise<void> {
  const { cfg, evalModel } = ctx;
  ctx.ema.copyTo(evalModel);
  const shape = modelShape(cfg);
  const videos = withRng(cfg.train.seed + 3, () =>
    tidy(() =>
      cropVideos(evalModel.sample(cfg.log.sampleN, { temperature: cfg.log.temperature }), cfg.data.pad),
    ),
  );
  const [n, T, c, h, w] = videos.shape as [number, number, number, number, number];
  const bytes = toBytes(videos);
  videos.dispose();
  const last = lastFrames(bytes, { n, t: T, c, h, w });
  const scale = shape.size <= 32 ? 2 : 1;
  await writeGrid(`${prefix}.png`, last, { n, c, h, w }, { scale });
  if (T > 1) {
    const rows = Math.min(n, 8);
    await writeVideoGrid(
      `${prefix}-videos.png`,
      bytes.subarray(0, rows * T * c * h * w),
      { n: rows, t: T, c, h, w },
      { scale },
    );
  }
}
