// The training loop every model family uses, read top to bottom like nanoGPT's train.py: setup, resume, then
// for each stage the steps, with evaluations, sample grids and checkpoints at their intervals.
//
// Run folder:
//   config.json            the resolved RunConfig (config.ts): reproduces the run, and is a valid --config
//   metrics.jsonl          one JSON record per line, with a `type`: "train" every step (loss terms, grad_norm,
//                          lr, images_per_s, skipped), "eval" at intervals (test-set bits/dim of the EMA weights)
//   ckpt-<step>/           the latest checkpoint (checkpoint.ts): model, EMA and optimizer safetensors + state
//   samples/step-<step>.png  generated last frames from the EMA weights (and -videos.png: whole videos)
//
// Resuming restores the weights, EMA, optimizer, libtorch's RNG, the loader position and the counters, and cuts
// metrics.jsonl back to the checkpoint's step, so a resumed run equals an uninterrupted one: the same losses and
// the same weights. Evaluations and sample grids draw from their own RNG stream (videos.ts withRng), so their
// frequency never changes the training run.
//
// Stabilisers (VDVAE): gradients clipped to gradClip; an update whose gradient norm is non-finite or above
// skipThreshold is skipped and counted; the EMA's decay warms up as min(emaDecay, (1+n)/(10+n)) after n updates,
// so short runs are not averaged with their initialisation; maxBadSteps non-finite steps in a row stop the run with a
// TrainingError, keeping the last good checkpoint (nothing is saved after the divergence).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BatchLoader } from "../data/loader.js";
import { type ImageSet, Progress, repoRoot } from "../data/index.js";
import { getFamily } from "../models/registry.js";
import type { TrainableModel } from "../models/model.js";
import { AdamW, Ema, clipGradNorm, warmupCosine } from "../nn/index.js";
import { writeGrid, writeVideoGrid } from "../modality/image-grid.js";
import {
  type Tensor,
  ArgumentError,
  dispose,
  fromTyped,
  getRngState,
  manualSeed,
  releaseHandles,
  setRngState,
  tidy,
  torchVersion,
} from "../tensor/index.js";
import { appendText, writeFileAtomic } from "../util/atomic.js";
import {
  type CheckpointState,
  latestCheckpoint,
  readCheckpoint,
  removePartialCheckpoints,
  saveCheckpoint,
} from "./checkpoint.js";
import {
  type RunConfig,
  type RunInput,
  completeWithData,
  configDifferences,
  mergeInputs,
  modelShape,
  resolveRunConfig,
  stageSteps,
} from "./config.js";
import {
  type EvalStats,
  cropVideos,
  lastFrames,
  loadRunData,
  scoreTestSet,
  toBytes,
  trainingVideos,
  withRng,
} from "./data.js";
import { readBest, writeBest } from "./best.js";
import { applyInit } from "./init.js";
import { lockRunFolder } from "./lock.js";
import { readMetrics } from "./metrics.js";

/** The run stopped itself: persistent non-finite losses or gradients. */
export class TrainingError extends Error {
  override name = "TrainingError";
}

export interface TrainOptions {
  /** Continue from the run folder's latest checkpoint (a folder without a run starts a new one). */
  resume?: boolean;
  /** Train only this stage (earlier ones must be done); default: every remaining stage in order. */
  stage?: string;
  /** "bar": a progress line on stderr; "json": every metrics record on stdout; "quiet": nothing. */
  output?: "bar" | "json" | "quiet";
  /** Stop (with a checkpoint) once this many steps are done in all: an interruption, for tests. */
  stopAt?: number;
  /** Notices (start, resume, stage changes); default stderr unless quiet or json. */
  log?: (message: string) => void;
}

export interface TrainResult {
  dir: string;
  step: number;
  finished: boolean;
  /** The last evaluation's numbers. */
  eval: EvalStats | null;
  skipped: number;
  /** The run's resolved config (what config.json holds). */
  config: RunConfig;
}

// ***** run folder *****

function readRunConfig(dir: string): RunConfig | null {
  const path = join(dir, "config.json");
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as RunConfig;
  } catch {
    throw new ArgumentError(`${path} is not valid JSON; this folder does not hold a readable run`);
  }
}

function provenance(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")) as { version: string };
  return {
    lastframe: pkg.version,
    libtorch: torchVersion(),
    node: process.version,
    written: new Date().toISOString(),
  };
}

/** Keeps the metrics records up to `step` (those of the checkpoint being resumed), dropping any torn last line. */
function cutMetrics(dir: string, step: number): void {
  const path = join(dir, "metrics.jsonl");
  if (!existsSync(path)) return;
  const text = readMetrics(dir)
    .filter((r) => r.step <= step)
    .map((r) => JSON.stringify(r) + "\n")
    .join("");
  // A finished run resumed again is left untouched (its files keep their times).
  if (text !== readFileSync(path, "utf8")) writeFileAtomic(path, text);
}

// ***** the loop *****

export async function train(input: RunInput, dir: string, opts: TrainOptions = {}): Promise<TrainResult> {
  const unlock = lockRunFolder(dir);
  try {
    return await trainLocked(input, dir, opts);
  } finally {
    unlock();
  }
}

async function trainLocked(input: RunInput, dir: string, opts: TrainOptions): Promise<TrainResult> {
  const output = opts.output ?? "bar";
  const log =
    opts.log ??
    (output === "bar" ? (m: string) => process.stderr.write(`lastframe train: ${m}\n`) : () => {});

  // Setup: the config (the saved one when resuming, flags on top), the data, the model.
  const saved = readRunConfig(dir);
  if (saved && !opts.resume)
    throw new ArgumentError(
      `${dir} already holds a run (config.json); pass --resume to continue it, or choose another --out`,
    );
  const cfg = resolveRunConfig(saved ? mergeInputs(saved as unknown as RunInput, input) : input);
  const data = await loadRunData(cfg);
  const shape = completeWithData(cfg, data.train);
  // Training longer is the one change a resume accepts: the steps left follow the longer cosine schedule
  // (a warm restart of the learning rate), so the run no longer equals one trained to the new total from scratch.
  const longer = saved !== null && cfg.train.steps > saved.train.steps;
  if (saved) {
    const diff = configDifferences(
      saved,
      longer ? { ...cfg, train: { ...cfg.train, steps: saved.train.steps } } : cfg,
    );
    if (diff.length)
      throw new ArgumentError(
        `${dir} holds a run with a different config, refusing to mix them:\n  ${diff.join("\n  ")}`,
      );
  }
  const family = getFamily(cfg.model);
  const t = cfg.train;
  manualSeed(t.seed);
  const model = family.create(cfg.hps, shape);
  model.train();
  const stages = model.stages;
  if (opts.stage !== undefined && !stages.includes(opts.stage)) {
    model.dispose();
    throw new ArgumentError(
      `Unknown stage ${JSON.stringify(opts.stage)} for model ${cfg.model}. Valid stages: ${stages.join(", ")}`,
    );
  }
  // Weights to start from (a warm start, a shared tokenizer): a resumed checkpoint already holds them.
  const ckpt = opts.resume ? latestCheckpoint(dir) : null;
  if (cfg.init && !ckpt) {
    const sha256 = applyInit(model, cfg.init);
    if (cfg.init.sha256 && cfg.init.sha256 !== sha256)
      throw new ArgumentError(
        `${cfg.init.from} (init.from) no longer holds the weights ${dir} started from (sha256 ${cfg.init.sha256.slice(0, 12)}, now ${sha256.slice(0, 12)})`,
      );
    cfg.init.sha256 = sha256;
  }
  removePartialCheckpoints(dir);
  const ema = new Ema(model, t.emaDecay);
  const evalModel = withRng(t.seed + 1, () => family.create(cfg.hps, shape)).eval();
  const loader = new BatchLoader(data.train, {
    batch: t.batch,
    seed: t.seed,
    pad: cfg.data.pad,
    flip: cfg.data.flip,
  });
  const metricsPath = join(dir, "metrics.jsonl");

  // Resume: everything the next step depends on.
  let state: CheckpointState = {
    step: 0,
    stage: model.stages[0]!,
    stageStep: 0,
    skipped: 0,
    badInARow: 0,
    loader: loader.state(),
    optimizer: { step: 0, lr: 0 },
    rng: "",
    seconds: 0,
  };
  let optimState: Map<string, Tensor> | null = null;
  if (ckpt) {
    const { state: s, tensors } = readCheckpoint(ckpt);
    if (!model.stages.includes(s.stage))
      throw new ArgumentError(
        `${ckpt} is at stage ${JSON.stringify(s.stage)}, which model ${cfg.model} does not have`,
      );
    model.loadStateDict(tensors.model, { source: join(ckpt, "model.safetensors") });
    for (const [name, tensor] of tensors.ema) {
      const target = ema.shadow.get(name);
      if (!target)
        throw new ArgumentError(`${join(ckpt, "ema.safetensors")} has an unexpected tensor ${name}`);
      tidy(() => target.copy_(tensor));
    }
    setRngState(
      tidy(() =>
        fromTyped(new Uint8Array(Buffer.from(s.rng, "base64")), [Buffer.from(s.rng, "base64").length]),
      ),
    );
    loader.restore(s.loader);
    state = s;
    optimState = tensors.optim;
    dispose([tensors.model, tensors.ema]);
    log(`resuming ${dir} from ${ckpt} (step ${s.step})`);
  } else if (opts.resume) log(`no checkpoint in ${dir}; starting from step 0`);

  // Which stages to run now.
  let index = stages.indexOf(state.stage);
  if (state.stageStep >= stageSteps(cfg, state.stage) && index < stages.length - 1) {
    index++;
    state = { ...state, stage: stages[index]!, stageStep: 0, skipped: 0, badInARow: 0 };
  }
  let last = stages.length - 1;
  if (opts.stage !== undefined) {
    const want = stages.indexOf(opts.stage);
    if (want > index)
      throw new ArgumentError(
        `Stage ${opts.stage} needs stage ${stages[index]} trained first (--stage ${stages[index]})`,
      );
    if (want < index) throw new ArgumentError(`Stage ${opts.stage} is already trained in ${dir}`);
    last = want;
  }

  // Only now that the checkpoint and the stages are known to be usable does the run folder change: a refused
  // resume leaves it as it was, and the same command can be tried again.
  if (!saved || longer) {
    const extended = longer
      ? { extendedFrom: `${saved.train.steps} steps, at ${new Date().toISOString()}` }
      : {};
    writeFileAtomic(
      join(dir, "config.json"),
      JSON.stringify(
        { ...cfg, provenance: { ...saved?.provenance, ...provenance(), ...extended } },
        null,
        2,
      ) + "\n",
    );
  }
  if (longer) log(`training longer: ${saved.train.steps} → ${cfg.train.steps} steps per stage`);
  cutMetrics(dir, state.step);
  log(
    `${cfg.model}/${cfg.preset} (${model.numParameters().toLocaleString("en-US")} parameters) on ${cfg.data.name}, ` +
      `spec ${cfg.spec.name}, T = ${cfg.frames}${cfg.framesAsImages ? " as separate images" : ""}, batch ${t.batch} → ${dir}`,
  );

  const record = (rec: Record<string, unknown>) => {
    const line = JSON.stringify(rec);
    appendText(metricsPath, line + "\n");
    if (output === "json") process.stdout.write(line + "\n");
  };
  const started = performance.now() - state.seconds * 1000;
  const seconds = () => (performance.now() - started) / 1000;
  let lastEval: EvalStats | null = null;
  let opt: AdamW | null = null;
  // A checkpoint due during a run of non-finite steps waits for the next good step: saved then, it would replace
  // the last good checkpoint with one from inside what may be a divergence. The end of a stage and an interruption
  // (stopAt) are saved as they are.
  let checkpointDue = false;
  const checkpoint = (opt: AdamW) => {
    const rng = getRngState();
    const optim = opt.stateDict();
    state = {
      ...state,
      loader: loader.state(),
      optimizer: optim.meta,
      rng: Buffer.from(rng.data() as Uint8Array).toString("base64"),
      seconds: seconds(),
    };
    rng.dispose();
    saveCheckpoint(dir, state, { model: model.stateDict(), ema: ema.shadow, optim: optim.tensors });
  };

  try {
    for (; index <= last; index++) {
      const stage = stages[index]!;
      const total = stageSteps(cfg, stage);
      if (state.stage !== stage) state = { ...state, stage, stageStep: 0, skipped: 0, badInARow: 0 };
      // A later stage builds on the weights that are evaluated and sampled: the EMA of the stage before.
      if (index > 0 && state.stageStep === 0) ema.copyTo(model);
      const params = model.parametersFor(stage);
      opt?.dispose();
      opt = new AdamW(params, { lr: t.lr, betas: [t.beta1, t.beta2], weightDecay: t.weightDecay });
      if (optimState && state.stageStep > 0) opt.loadStateDict(optimState, state.optimizer);
      if (optimState) dispose(optimState);
      optimState = null;
      const schedule = warmupCosine({ lr: t.lr, warmup: t.warmup, total, minLr: t.lr * t.minLrFraction });
      if (stages.length > 1) log(`stage ${stage}: ${total} steps`);
      const bar = new Progress({
        total,
        label: stages.length > 1 ? stage : cfg.model,
        unit: "step",
        enabled: output === "bar",
      });
      bar.update(state.stageStep);

      while (state.stageStep < total) {
        const t0 = performance.now();
        const o = opt;
        const out = tidy(() => {
          const videos = trainingVideos(loader.next(), cfg);
          const { loss, stats } = model.loss(videos, stage);
          const value = loss.item();
          o.zeroGrad();
          if (!Number.isFinite(value)) return { value, gradNorm: NaN, stats: {} };
          loss.backward();
          const gradNorm = clipGradNorm(params, t.gradClip);
          return {
            value,
            gradNorm,
            stats: Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, v.item()])),
          };
        });
        const finite = Number.isFinite(out.value) && Number.isFinite(out.gradNorm);
        const lr = schedule(state.stageStep);
        if (!finite || out.gradNorm > t.skipThreshold) {
          o.zeroGrad();
          state = { ...state, skipped: state.skipped + 1, badInARow: finite ? 0 : state.badInARow + 1 };
        } else {
          o.lr = lr;
          o.update();
          // EMA warm-up (as TensorFlow's num_updates): a short run's average is not dominated by its start.
          ema.update(model, Math.min(t.emaDecay, (1 + o.step) / (10 + o.step)));
          state = { ...state, badInARow: 0 };
        }
        state = { ...state, step: state.step + 1, stageStep: state.stageStep + 1 };
        const imagesPerS = (t.batch * 1000) / (performance.now() - t0);
        record({
          type: "train",
          stage,
          step: state.step,
          time: round(seconds()),
          loss: out.value,
          ...out.stats,
          grad_norm: out.gradNorm,
          lr,
          images_per_s: round(imagesPerS),
          skipped: state.skipped,
        });
        bar.update(state.stageStep, {
          loss: out.value,
          "img/s": imagesPerS,
          ...(state.skipped ? { skipped: state.skipped } : {}),
        });
        if (state.badInARow >= t.maxBadSteps) {
          bar.done();
          const good = latestCheckpoint(dir);
          throw new TrainingError(
            `training stopped at step ${state.step}: the loss or its gradients were not finite for ${state.badInARow} steps in a row ` +
              `(try a lower --lr or train.gradClip). ${good ? `The last good checkpoint is ${good}` : "No checkpoint was written"}; nothing was saved after the divergence.`,
          );
        }
        const end = state.stageStep === total;
        const due = (every: number) => end || state.stageStep % every === 0;
        if (due(cfg.log.evalEvery)) {
          lastEval = evaluate(evalModel, ema, cfg, data.test, stage);
          record({ type: "eval", stage, step: state.step, time: round(seconds()), ...lastEval });
          if (t.selectBest && index === stages.length - 1) {
            const value = keepIfBest(evalModel, ema, cfg, data.validation!, stage, dir, state.step);
            record({ type: "validation", stage, step: state.step, time: round(seconds()), ...value });
          }
          if (output === "bar")
            bar.log(
              `step ${state.step}: ${Object.entries(lastEval)
                .map(
                  ([k, v]) =>
                    `${k} ${typeof v === "number" ? v.toFixed(4) : v.map((x) => x.toFixed(3)).join("/")}`,
                )
                .join(", ")}`,
            );
        }
        if (due(cfg.log.sampleEvery))
          await writeSamples(
            evalModel,
            ema,
            cfg,
            join(dir, "samples", `step-${String(state.step).padStart(6, "0")}`),
          );
        // Node runs the finalizers of disposed handles only between event-loop turns (tensor/scope.ts).
        await releaseHandles();
        const stopping = state.step === opts.stopAt;
        checkpointDue ||= due(cfg.log.checkpointEvery);
        if ((checkpointDue && state.badInARow === 0) || end || stopping) {
          checkpoint(o);
          checkpointDue = false;
        }
        if (stopping) {
          bar.done();
          return {
            dir,
            step: state.step,
            finished: false,
            eval: lastEval,
            skipped: state.skipped,
            config: cfg,
          };
        }
      }
      bar.done();
    }
  } finally {
    opt?.dispose();
    if (optimState) dispose(optimState);
    model.dispose();
    ema.dispose();
    evalModel.dispose();
  }
  log(
    `done: ${state.step} steps in ${seconds().toFixed(0)} s${state.skipped ? `, ${state.skipped} updates skipped` : ""}`,
  );
  return { dir, step: state.step, finished: true, eval: lastEval, skipped: state.skipped, config: cfg };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

// ***** evaluation and samples (EMA weights, own RNG stream) *****

/** Test-set statistics of the EMA weights on the first log.evalImages test images. */
function evaluate(
  evalModel: TrainableModel,
  ema: Ema,
  cfg: RunConfig,
  test: ImageSet,
  stage: string,
): EvalStats {
  ema.copyTo(evalModel);
  return scoreTestSet(evalModel, cfg, test, { stage, limit: cfg.log.evalImages || undefined });
}

/**
 * Scores the EMA weights on the validation split and, if their last_bpd_given_true is the lowest so far, keeps
 * them as the run's best (best.ts). Returns the validation statistics.
 */
function keepIfBest(
  evalModel: TrainableModel,
  ema: Ema,
  cfg: RunConfig,
  validation: ImageSet,
  stage: string,
  dir: string,
  step: number,
): EvalStats {
  ema.copyTo(evalModel);
  const stats = scoreTestSet(evalModel, cfg, validation, { stage });
  const value = stats.last_bpd_given_true as number;
  const best = readBest(dir);
  if (!best || value < best.value) writeBest(dir, evalModel, { step, value });
  return stats;
}

/** Writes <prefix>.png (last frames) and, for videos, <prefix>-videos.png (one video per row). */
async function writeSamples(
  evalModel: TrainableModel,
  ema: Ema,
  cfg: RunConfig,
  prefix: string,
): Promise<void> {
  ema.copyTo(evalModel);
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
