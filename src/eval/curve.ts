// The sample-quality half of a learning curve: at every evaluation of a training run, FD between a few generated
// last frames and as many of the run's own test images, in the data set's feature-net space (the space of the
// suite tables, with fewer images: a curve's points compare with each other, not with the tables' FD). It runs
// inside the training loop as its evalExtra (train/hooks.ts), on its own RNG stream, so it never changes the run.
import { loadDataset, withTestSplit } from "../data/index.js";
import type { RunConfig } from "../train/config.js";
import { cropVideos, lastFrames, toBytes, withRng } from "../train/data.js";
import type { EvalExtra } from "../train/hooks.js";
import { ArgumentError, isPositiveInt } from "../errors.js";
import { tidy } from "../tensor/index.js";
import { ensureFeatNet, featnetConfigFor } from "./featnet-train.js";
import { frechetDistance, gaussianStats } from "./frechet.js";
import { chooseReference, referenceStats } from "./reference.js";
import { featnetSpace } from "./spaces.js";

/** Videos sampled at once for a curve point. */
const BATCH = 64;

/**
 * An evalExtra giving `fd` of `n` samples (seeded by the run's seed + 5, the same draws at every point) against
 * `n` test images of `data` spread evenly over its test split (a --limit'ed split's own images). dispose() frees
 * the feature net.
 */
export async function curveFd(
  data: string,
  limit: number | null,
  n: number,
): Promise<{ extra: EvalExtra; dispose: () => void }> {
  if (!(isPositiveInt(n) && n >= 2))
    throw new ArgumentError(`Expected integer of at least 2 for curve samples but received ${n}`);
  if (!featnetConfigFor(data))
    throw new ArgumentError(`No feature net exists for ${data}: learning curves measure FD in one`);
  const space = featnetSpace(await ensureFeatNet(data, { progress: false }));
  const d = withTestSplit(await loadDataset(data, { limit: limit ?? undefined, progress: false }));
  const ref = referenceStats(space, chooseReference(d, "test", n));
  ref.features.dispose();
  const extra: EvalExtra = (model, cfg: RunConfig) => {
    const { channels: c, size } = cfg.data;
    const frames = withRng(cfg.train.seed + 5, () => {
      const parts: Uint8Array[] = [];
      for (let done = 0; done < n; done += BATCH) {
        const k = Math.min(BATCH, n - done);
        const bytes = tidy(() => toBytes(cropVideos(model.sample(k), cfg.data.pad)));
        parts.push(lastFrames(bytes, { n: k, t: bytes.length / (k * c * size * size), c, h: size, w: size }));
      }
      return Buffer.concat(parts);
    });
    const features = space.extract({ images: frames, n, c, h: size, w: size });
    try {
      return { fd: frechetDistance(gaussianStats(features), ref.stats) };
    } finally {
      features.dispose();
    }
  };
  return { extra, dispose: () => space.dispose() };
}
