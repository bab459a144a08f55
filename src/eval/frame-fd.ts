// Whether a video model puts each frame where it belongs: the Fréchet distance between every generated frame
// position and every frame position of the data's own pseudo videos, in one feature space. A model that knows
// the frame order has each row's smallest distance on the diagonal (generated frame i is nearest to real frame
// i); one that confuses it (say, a last frame that looks like a noisy earlier one) has it elsewhere. Read rows,
// not the diagonal's values against each other: the feature nets are trained on clean images, so distances
// between corrupted frames are not on the scale of the clean frame's.
import { type VideoBytes, videoFrame } from "../train/data.js";
import { ArgumentError } from "../tensor/index.js";
import { type GaussianStats, frechetDistance, gaussianStats } from "./frechet.js";
import type { FeatureSpace } from "./spaces.js";

export interface FrameDistances {
  /** Generated and real videos. */
  n: number;
  refN: number;
  /** fd[i][j]: generated frame i + 1 against real frame j + 1. */
  fd: number[][];
  /** For each generated frame, the real frame it is closest to (1-based). */
  closest: number[];
}

/** Feature statistics of each frame position of the videos. */
function frameStats(space: FeatureSpace, videos: VideoBytes, progress?: boolean): GaussianStats[] {
  const { n, t, c, h, w } = videos.shape;
  return Array.from({ length: t }, (_, i) => {
    const features = space.extract(
      { images: videoFrame(videos.frames, videos.shape, i), n, c, h, w },
      progress,
    );
    try {
      return gaussianStats(features);
    } finally {
      features.dispose();
    }
  });
}

export function frameDistances(
  space: FeatureSpace,
  generated: VideoBytes,
  real: VideoBytes,
  progress?: boolean,
): FrameDistances {
  const t = generated.shape.t;
  if (t < 2)
    throw new ArgumentError(
      "per-frame distances need a video run (T > 1): this run's model generates single images",
    );
  if (real.shape.t !== t)
    throw new ArgumentError(`per-frame distances: ${t} generated frames against ${real.shape.t} real ones`);
  if (generated.shape.n < 2 || real.shape.n < 2)
    throw new ArgumentError(
      `per-frame distances need at least 2 videos on each side, got ${generated.shape.n} generated and ${real.shape.n} real`,
    );
  const gen = frameStats(space, generated, progress);
  const ref = frameStats(space, real, progress);
  const fd = gen.map((g) => ref.map((r) => frechetDistance(g, r)));
  const closest = fd.map((row) => row.indexOf(Math.min(...row)) + 1);
  return { n: generated.shape.n, refN: real.shape.n, fd, closest };
}
