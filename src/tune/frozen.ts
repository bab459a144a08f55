// Frozen-model scoring (Fast AutoAugment's idea, Lim et al. 2019): one video model trained on a broad spec, then
// every candidate spec scored by that model's held-out last_bpd_given_true with its weights frozen: the image's
// bits given the candidate's true earlier frames. A spec whose earlier frames tell a model that has seen all kinds
// of frames much about the image scores low. No training per candidate: one pass over the held-out images each.
import { type Run, closeRun, openRun } from "../run/run.js";
import { ArgumentError } from "../errors.js";
import type { ImageSet } from "../data/index.js";
import { loadRunData, scoreTestSet } from "../train/data.js";
import type { VideoSpec } from "../video/index.js";

export interface FrozenScore {
  spec: string;
  /** last_bpd_given_true of the frozen model on the candidate's videos (lower is predicted better). */
  bpd: number;
  ms: number;
}

export interface FrozenScorer {
  /** The frozen model's frame count: a candidate must have as many frames. */
  frames: number;
  score(spec: VideoSpec): FrozenScore;
  close(): void;
}

/**
 * A scorer over the trained run in `dir` (its selected best weights, or its latest EMA weights), on the first
 * `images` images of its validation split (the held-out training images; the test split when `split` says so).
 */
export async function frozenScorer(
  dir: string,
  o: { images: number; split: "validation" | "test" },
): Promise<FrozenScorer> {
  const run: Run = await openRun(dir);
  const data = await loadRunData(run.config);
  const set: ImageSet | null = o.split === "test" ? data.test : data.validation;
  if (!set) {
    closeRun(run);
    throw new ArgumentError(`${dir} holds out no validation images (data.validation is 0)`);
  }
  const frames = run.config.frames;
  const stage = run.model.stages[run.model.stages.length - 1]!;
  return {
    frames,
    score(spec) {
      if (spec.frames !== frames)
        throw new ArgumentError(
          `${spec.name} has T = ${spec.frames}; the frozen model in ${dir} has T = ${frames}`,
        );
      const t0 = performance.now();
      // The run's own evaluation with only the spec swapped: the same images and RNG stream for every candidate.
      const stats = scoreTestSet(run.model, { ...run.config, spec }, set, { stage, limit: o.images });
      const bpd = stats.last_bpd_given_true;
      if (typeof bpd !== "number")
        throw new ArgumentError(`The model in ${dir} reports no last_bpd_given_true (is it a video model?)`);
      return { spec: spec.name, bpd, ms: Math.round(performance.now() - t0) };
    },
    close: () => closeRun(run),
  };
}
