// The training engine: the step loop of one stage, shared by every model family, touching no files. A step is
//   batch → loss → backward → gradient hook → clip → AdamW → EMA
// with VDVAE's skip-and-count: an update whose loss or gradient norm is non-finite, or whose norm is above
// skipThreshold, is not applied (and a non-finite one counts towards badInARow). A data-parallel run's gradient
// hook returns the group's loss and reduced gradients, so that every rank takes the same decision. After each step the caller's
// hooks run in the order given (metrics, progress, eval, samples, checkpoints: train/hooks.ts); a hook that
// returns "stop" ends the stage after that step. Everything that writes files is a hook, so a caller can leave
// those out where they must not run (a data-parallel rank other than 0).
import type { TrainableModel } from "../models/model.js";
import { type AdamW, type Ema, clipGradNorm } from "../nn/index.js";
import { type BatchShard, type Tensor, releaseHandles, tidy, withBatchShard } from "../tensor/index.js";

/** A step's loss and its named terms. */
export interface StepLoss {
  loss: number;
  stats: Record<string, number>;
}

/**
 * The gradient hook: called after backward and before clipping on every step, with the parameters being trained
 * (their `.grad` holds this step's gradients; none when the loss is not finite) and the step's loss. It may
 * rewrite the gradients in place and return the loss to use instead; data-parallel training averages both
 * across ranks here (train/ddp.ts). Clipping, the skip rule, the update and the hooks then see what it leaves.
 */
export type GradHook = (params: Tensor[], step: StepLoss) => void | StepLoss | Promise<void | StepLoss>;

/** The counters a step advances (the run's checkpoint state carries them, plus its own fields). */
export interface StepCounters {
  /** Steps done, over all stages, and of this stage. */
  step: number;
  stageStep: number;
  /** Updates skipped in this stage, and non-finite steps in a row. */
  skipped: number;
  badInARow: number;
}

/** One stage's training: what the engine steps. */
export interface StageRun {
  stage: string;
  /** The stage's length in steps. */
  total: number;
  model: TrainableModel;
  /** The parameters this stage trains (those `opt` updates). */
  params: Tensor[];
  opt: AdamW;
  ema: Ema;
  /** The next batch as model input; called inside a tidy() scope. */
  nextBatch: () => Tensor;
  /** Examples per batch (for images_per_s). */
  batchSize: number;
  /** The learning rate at a step of the stage. */
  schedule: (stageStep: number) => number;
  gradClip: number;
  skipThreshold: number;
  /** The EMA's decay once warmed up. */
  emaDecay: number;
  gradHook?: GradHook;
  /** A data-parallel rank's rows of each batch: the model's noise is drawn for the whole batch (tensor/ops.ts). */
  shard?: BatchShard;
}

/** What a step did, as the hooks see it. */
export interface StepReport<C extends StepCounters = StepCounters> {
  stage: string;
  /** The counters after the step. */
  counters: C;
  loss: number;
  /** The model's named loss terms (numbers). */
  stats: Record<string, number>;
  gradNorm: number;
  lr: number;
  imagesPerS: number;
  /** The stage's last step. */
  end: boolean;
}

/** Runs after each step; "stop" ends the stage after it (remaining hooks of that step still run). */
export type StepHook<C extends StepCounters = StepCounters> = (
  report: StepReport<C>,
) => void | "stop" | Promise<void | "stop">;

/** Forward and backward on the next batch: the loss and its terms (no gradients when the loss is not finite). */
function forwardBackward(s: StageRun): StepLoss {
  return tidy(() =>
    withBatchShard(s.shard ?? null, () => {
      const out = s.model.loss(s.nextBatch(), s.stage);
      const loss = out.loss.item();
      // The terms even of a non-finite step: data-parallel ranks reduce the same terms on every step.
      const stats = Object.fromEntries(Object.entries(out.stats).map(([k, v]) => [k, v.item()]));
      s.opt.zeroGrad();
      if (Number.isFinite(loss)) out.loss.backward();
      return { loss, stats };
    }),
  );
}

/** One step of the stage: forward, backward, gradient hook, clip, then the update or a counted skip. */
async function trainStep<C extends StepCounters>(s: StageRun, c: C): Promise<StepReport<C>> {
  const t0 = performance.now();
  let out = forwardBackward(s);
  if (s.gradHook) out = (await s.gradHook(s.params, out)) ?? out;
  const gradNorm = Number.isFinite(out.loss) ? clipGradNorm(s.params, s.gradClip) : NaN;
  const finite = Number.isFinite(out.loss) && Number.isFinite(gradNorm);
  const lr = s.schedule(c.stageStep);
  let next: C;
  if (!finite || gradNorm > s.skipThreshold) {
    s.opt.zeroGrad();
    next = { ...c, skipped: c.skipped + 1, badInARow: finite ? 0 : c.badInARow + 1 };
  } else {
    s.opt.lr = lr;
    s.opt.update();
    // EMA warm-up (as TensorFlow's num_updates): a short run's average is not dominated by its start.
    s.ema.update(s.model, Math.min(s.emaDecay, (1 + s.opt.step) / (10 + s.opt.step)));
    next = { ...c, badInARow: 0 };
  }
  next = { ...next, step: next.step + 1, stageStep: next.stageStep + 1 };
  return {
    stage: s.stage,
    counters: next,
    loss: out.loss,
    stats: out.stats,
    gradNorm,
    lr,
    imagesPerS: (s.batchSize * 1000) / (performance.now() - t0),
    end: next.stageStep === s.total,
  };
}

/** Steps the stage from `c` to its end (or until a hook says "stop"), running the hooks after every step. */
export async function runStage<C extends StepCounters>(
  s: StageRun,
  c: C,
  hooks: readonly StepHook<C>[],
): Promise<{ counters: C; stopped: boolean }> {
  let counters = c;
  while (counters.stageStep < s.total) {
    const report = await trainStep(s, counters);
    counters = report.counters;
    let stop = false;
    for (const hook of hooks) if ((await hook(report)) === "stop") stop = true;
    // Node runs the finalizers of disposed handles only between event-loop turns (tensor/scope.ts).
    await releaseHandles();
    if (stop) return { counters, stopped: true };
  }
  return { counters, stopped: false };
}
