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
//
// Data parallel (opts.group, ddp.ts): every rank runs this same loop on its rows of each global batch, starting
// from rank 0's weights; only rank 0 locks and writes the run folder (every rank reads it to resume), and the
// gradient hook averages over the group, so the checkpoints are those of one process with the same batch.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BatchLoader } from "../data/loader.js";
import type { ProcessGroup } from "../dist/index.js";
import { Progress, repoRoot } from "../data/index.js";
import { getFamily } from "../models/registry.js";
import type { ModelFamily, TrainableModel } from "../models/model.js";
import { AdamW, Ema, warmupCosine } from "../nn/index.js";
import {
  type Tensor,
  ArgumentError,
  dispose,
  fromTyped,
  manualSeed,
  setRngState,
  tidy,
  torchVersion,
} from "../tensor/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import {
  type CheckpointState,
  latestCheckpoint,
  readCheckpoint,
  removePartialCheckpoints,
} from "./checkpoint.js";
import {
  type RunConfig,
  type RunInput,
  completeWithData,
  configDifferences,
  mergeInputs,
  readRunConfig,
  resolveRunConfig,
  stageSteps,
} from "./config.js";
import { type EvalStats, loadRunData, trainingVideos, withRng } from "./data.js";
import { averagingHook, rowsPerRank, startFromRankZero } from "./ddp.js";
import { type GradHook, type StageRun, type StepHook, runStage } from "./engine.js";
import {
  type EvalExtra,
  type HookContext,
  checkpointHook,
  divergenceGuard,
  evalHook,
  evalRecord,
  metricsHook,
  progressHook,
  recorder,
  samplesHook,
  stopHook,
} from "./hooks.js";
import { applyInit } from "./init.js";
import { lockRunFolder } from "./lock.js";
import { readMetrics } from "./metrics.js";

export { TrainingError } from "./hooks.js";

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
  /**
   * Called after backward and before clipping on every step (engine.ts GradHook); in a data-parallel run, after
   * the gradients are averaged over the group.
   */
  gradHook?: GradHook;
  /**
   * Train data-parallel as one rank of this group (ddp.ts). Rank 0 writes the run folder (config.json, metrics,
   * samples, checkpoints, best weights); the other ranks train the same steps and write nothing.
   */
  group?: ProcessGroup;
  /** More numbers for every evaluation of the last stage (hooks.ts EvalExtra): a learning curve's FD. */
  evalExtra?: EvalExtra;
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

// ***** the run: setup, resume, stage selection, then each stage through the engine *****

export async function train(input: RunInput, dir: string, opts: TrainOptions = {}): Promise<TrainResult> {
  // The other ranks only read the folder, while rank 0 holds it.
  const unlock = isMainRank(opts) ? lockRunFolder(dir) : () => {};
  try {
    return await trainLocked(input, dir, opts);
  } finally {
    unlock();
  }
}

/** The config (the saved one when resuming, flags on top), checked against the saved run. */
function resolveConfig(
  input: RunInput,
  dir: string,
  opts: TrainOptions,
): { cfg: RunConfig; saved: RunConfig | null; longer: boolean } {
  const path = join(dir, "config.json");
  const saved = existsSync(path) ? readRunConfig(path) : null;
  if (saved && !opts.resume)
    throw new ArgumentError(
      `${dir} already holds a run (config.json); pass --resume to continue it, or choose another --out`,
    );
  const cfg = resolveRunConfig(saved ? mergeInputs(saved, input) : input);
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
  return { cfg, saved, longer };
}

/** Everything a run trains and evaluates with; `dispose` frees the weights. */
interface Run {
  cfg: RunConfig;
  data: Awaited<ReturnType<typeof loadRunData>>;
  family: ModelFamily;
  model: TrainableModel;
  ema: Ema;
  evalModel: TrainableModel;
  loader: BatchLoader;
  /** The checkpoint being resumed, if any. */
  ckpt: string | null;
}

/** The model (seeded), its starting weights (init.from) unless resuming, the EMA, the eval copy, the loader. */
async function buildRun(cfg: RunConfig, dir: string, opts: TrainOptions, isMain: boolean): Promise<Run> {
  const data = await loadRunData(cfg);
  const shape = completeWithData(cfg, data.train);
  const family = getFamily(cfg.model);
  const t = cfg.train;
  manualSeed(t.seed);
  const model = family.create(cfg.hps, shape);
  model.train();
  if (opts.stage !== undefined && !model.stages.includes(opts.stage)) {
    model.dispose();
    throw new ArgumentError(
      `Unknown stage ${JSON.stringify(opts.stage)} for model ${cfg.model}. Valid stages: ${model.stages.join(", ")}`,
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
  if (isMain) removePartialCheckpoints(dir);
  const ema = new Ema(model, t.emaDecay);
  const evalModel = withRng(t.seed + 1, () => family.create(cfg.hps, shape)).eval();
  const loader = new BatchLoader(data.train, {
    batch: t.batch,
    seed: t.seed,
    pad: cfg.data.pad,
    flip: cfg.data.flip,
  });
  return { cfg, data, family, model, ema, evalModel, loader, ckpt };
}

/** Restores everything the next step depends on from the checkpoint: weights, EMA, RNG, loader, counters. */
function resume(run: Run): { state: CheckpointState; optimState: Map<string, Tensor> | null } {
  const { model, ema, loader, ckpt } = run;
  const fresh: CheckpointState = {
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
  if (!ckpt) return { state: fresh, optimState: null };
  const { state, tensors } = readCheckpoint(ckpt);
  if (!model.stages.includes(state.stage))
    throw new ArgumentError(
      `${ckpt} is at stage ${JSON.stringify(state.stage)}, which model ${run.cfg.model} does not have`,
    );
  model.loadStateDict(tensors.model, { source: join(ckpt, "model.safetensors") });
  for (const [name, tensor] of tensors.ema) {
    const target = ema.shadow.get(name);
    if (!target) throw new ArgumentError(`${join(ckpt, "ema.safetensors")} has an unexpected tensor ${name}`);
    tidy(() => target.copy_(tensor));
  }
  const rng = Buffer.from(state.rng, "base64");
  setRngState(tidy(() => fromTyped(new Uint8Array(rng), [rng.length])));
  loader.restore(state.loader);
  dispose([tensors.model, tensors.ema]);
  return { state, optimState: tensors.optim };
}

/** The stages to run now, [first, last] by index: the one in progress (or the next) up to --stage or the end. */
function selectStages(
  stages: readonly string[],
  state: CheckpointState,
  cfg: RunConfig,
  dir: string,
  only: string | undefined,
): { first: number; last: number; state: CheckpointState } {
  let first = stages.indexOf(state.stage);
  if (state.stageStep >= stageSteps(cfg, state.stage) && first < stages.length - 1) {
    first++;
    state = { ...state, stage: stages[first]!, stageStep: 0, skipped: 0, badInARow: 0 };
  }
  if (only === undefined) return { first, last: stages.length - 1, state };
  const want = stages.indexOf(only);
  if (want > first)
    throw new ArgumentError(
      `Stage ${only} needs stage ${stages[first]} trained first (--stage ${stages[first]})`,
    );
  if (want < first) throw new ArgumentError(`Stage ${only} is already trained in ${dir}`);
  return { first, last: want, state };
}

/** config.json for a new (or longer) run, and metrics.jsonl cut back to the resumed step. */
function writeRunFolder(
  dir: string,
  cfg: RunConfig,
  saved: RunConfig | null,
  longer: boolean,
  step: number,
): void {
  if (!saved || longer) {
    const extended = longer
      ? { extendedFrom: `${saved!.train.steps} steps, at ${new Date().toISOString()}` }
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
  // A fresh start keeps nothing (not even a step-0 evaluation of an attempt killed before its first checkpoint).
  cutMetrics(dir, step === 0 ? -1 : step);
}

const isMainRank = (opts: TrainOptions) => !opts.group || opts.group.rank === 0;

async function trainLocked(input: RunInput, dir: string, opts: TrainOptions): Promise<TrainResult> {
  const output = opts.output ?? "bar";
  const isMain = isMainRank(opts);
  const log =
    opts.log ??
    (output === "bar" && isMain ? (m: string) => process.stderr.write(`lastframe train: ${m}\n`) : () => {});
  const { cfg, saved, longer } = resolveConfig(input, dir, opts);
  if (opts.group) rowsPerRank(cfg.train.batch, opts.group.worldSize);
  const run = await buildRun(cfg, dir, opts, isMain);
  const { model, ema, evalModel } = run;
  let optimState: Map<string, Tensor> | null = null;
  try {
    const resumed = resume(run);
    optimState = resumed.optimState;
    if (run.ckpt) log(`resuming ${dir} from ${run.ckpt} (step ${resumed.state.step})`);
    else if (opts.resume) log(`no checkpoint in ${dir}; starting from step 0`);
    const { first, last, state } = selectStages(model.stages, resumed.state, cfg, dir, opts.stage);
    if (opts.group)
      startFromRankZero(opts.group, [...model.stateDict().values(), ...ema.shadow.values()], state.step);
    // Only now that the checkpoint and the stages are known to be usable does the run folder change: a refused
    // resume leaves it as it was, and the same command can be tried again.
    if (isMain) writeRunFolder(dir, cfg, saved, longer, state.step);
    if (longer) log(`training longer: ${saved!.train.steps} → ${cfg.train.steps} steps per stage`);
    log(
      `${cfg.model}/${cfg.preset} (${model.numParameters().toLocaleString("en-US")} parameters) on ${cfg.data.name}, ` +
        `spec ${cfg.spec.name}, T = ${cfg.frames}${cfg.framesAsImages ? " as separate images" : ""}, batch ${cfg.train.batch} → ${dir}`,
    );
    const result = await trainStages(run, { dir, opts, output, isMain, log, first, last, state, optimState });
    optimState = null;
    return result;
  } finally {
    if (optimState) dispose(optimState);
    model.dispose();
    ema.dispose();
    evalModel.dispose();
  }
}

interface StagesPlan {
  dir: string;
  opts: TrainOptions;
  output: "bar" | "json" | "quiet";
  isMain: boolean;
  log: (message: string) => void;
  first: number;
  last: number;
  state: CheckpointState;
  /** The resumed optimizer's tensors (freed here once loaded). */
  optimState: Map<string, Tensor> | null;
}

/** Each selected stage in turn: its optimizer (restored mid-stage), its hooks, then the engine. */
async function trainStages(run: Run, p: StagesPlan): Promise<TrainResult> {
  const { cfg, model, ema } = run;
  const stages = model.stages;
  const t = cfg.train;
  let { state, optimState } = p;
  const started = performance.now() - state.seconds * 1000;
  const seconds = () => (performance.now() - started) / 1000;
  const evals = { last: null as EvalStats | null };
  const record = p.isMain ? recorder(p.dir, p.output) : () => {};
  let opt: AdamW | null = null;
  try {
    for (let index = p.first; index <= p.last; index++) {
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
      if (stages.length > 1) p.log(`stage ${stage}: ${total} steps`);
      const bar = new Progress({
        total,
        label: stages.length > 1 ? stage : cfg.model,
        unit: "step",
        enabled: p.output === "bar" && p.isMain,
      });
      bar.update(state.stageStep);
      const ctx: HookContext = {
        ...{ dir: p.dir, cfg, output: p.output, lastStage: index === stages.length - 1, model, ema },
        ...{ evalModel: run.evalModel, test: run.data.test, validation: run.data.validation },
        ...{ loader: run.loader, opt, bar, seconds, record, evals, evalExtra: p.opts.evalExtra },
      };
      // A warm start (all of another run's weights) is scored before its first update: its learning curve starts
      // where the source ended, and at T = 1 it must score as the source does.
      if (p.isMain && cfg.init?.modules.length === 0 && state.step === 0) evalRecord(ctx, stage, 0, 0);
      const s: StageRun = {
        ...{ stage, total, model, params, opt, ema, batchSize: t.batch, ...rankWork(run, p.opts) },
        nextBatch: () => rowsOf(trainingVideos(run.loader.next(), cfg), p.opts.group),
        schedule: warmupCosine({ lr: t.lr, warmup: t.warmup, total, minLr: t.lr * t.minLrFraction }),
        ...{ gradClip: t.gradClip, skipThreshold: t.skipThreshold, emaDecay: t.emaDecay },
      };
      const done = await runStage(s, state, stageHooks(ctx, p));
      state = done.counters;
      bar.done();
      if (done.stopped) return result(p.dir, state, false, evals.last, cfg);
    }
  } finally {
    opt?.dispose();
    if (optimState) dispose(optimState);
  }
  p.log(
    `done: ${state.step} steps in ${seconds().toFixed(0)} s${state.skipped ? `, ${state.skipped} updates skipped` : ""}`,
  );
  return result(p.dir, state, true, evals.last, cfg);
}

/** A rank's part of a step: its noise rows and the gradient average (before the caller's hook), or the caller's hook. */
function rankWork(run: Run, opts: TrainOptions): Pick<StageRun, "gradHook" | "shard"> {
  const { group, gradHook } = opts;
  if (!group) return { gradHook };
  const average = averagingHook(
    group,
    run.model.namedBuffers().map(([, b]) => b),
  );
  return {
    shard: { rank: group.rank, world: group.worldSize },
    gradHook: async (params, step) => {
      const mean = (await average(params, step)) ?? step;
      return (await gradHook?.(params, mean)) ?? mean;
    },
  };
}

/** This rank's rows of a global batch (every rank builds the whole batch's pseudo videos: the same noise). */
function rowsOf(videos: Tensor, group: ProcessGroup | undefined): Tensor {
  if (!group || group.worldSize === 1) return videos;
  const n = videos.size(0) / group.worldSize;
  return videos.narrow(0, group.rank * n, n);
}

/** The hooks after each step, in order; a rank other than 0 keeps only those that write nothing. */
function stageHooks(ctx: HookContext, p: StagesPlan): StepHook<CheckpointState>[] {
  const stop = stopHook(p.opts.stopAt);
  if (!p.isMain) return [divergenceGuard(ctx), stop];
  return [
    metricsHook(ctx),
    progressHook(ctx),
    divergenceGuard(ctx),
    evalHook(ctx),
    samplesHook(ctx),
    checkpointHook(ctx, p.opts.stopAt),
    stop,
  ];
}

function result(
  dir: string,
  state: CheckpointState,
  finished: boolean,
  evalStats: EvalStats | null,
  config: RunConfig,
): TrainResult {
  return { dir, step: state.step, finished, eval: evalStats, skipped: state.skipped, config };
}
