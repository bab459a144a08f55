// One evaluation of generated images against a data set: a trained run (sampled here) or a folder of images,
// scored with any of
//   fd   Fréchet distance in the data set's feature-net space (offline)
//   kid  kernel inception distance (unbiased MMD², mean ± std over subsets) in the same space
//   pr   precision and recall (k-NN manifolds) in the same space
//   bpd  the model's test-set likelihood (bits/dim, ELBO bound for HVAEs, NLL for VQ priors): runs only
//   fid  pytorch-fid's FID, given Inception weights in the standard format
// Feature-net numbers compare lastframe models with each other only; FID with the standard weights file
// compares with published FIDs (same data and sample counts permitting).
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { type SplitData, defaultSplit, loadDataset, withTestSplit } from "../data/index.js";
import { closeRun, evaluateRun, openRun, sampleVideos, testVideos, type Run } from "../run/run.js";
import { type EvalStats, type VideoBytes, lastFrames } from "../train/data.js";
import {
  ArgumentError,
  expected,
  CheckpointError,
  dispose,
  getNumThreads,
  torchVersion,
} from "../tensor/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import type { Images } from "./features.js";
import { ensureFeatNet, featnetConfigFor, featnetDataSets } from "./featnet-train.js";
import { frechetDistance, gaussianStats } from "./frechet.js";
import { INCEPTION_DIMS, loadFidInception } from "./inception.js";
import { kernelInceptionDistance } from "./kid.js";
import { readNpzStats } from "./npz.js";
import { PR_NEIGHBOURS, precisionRecall } from "./precision-recall.js";
import { chooseReference, referenceStats } from "./reference.js";
import { type FeatureSpace, featnetSpace, inceptionSpace } from "./spaces.js";
import { type FrameDistances, frameDistances } from "./frame-fd.js";

export const metricNames = ["fd", "kid", "pr", "bpd", "fid"] as const;
export type MetricName = (typeof metricNames)[number];

export interface EvalOptions {
  metrics: MetricName[];
  /** Generated images to score (sampled from a run; at most this many from a folder). */
  n: number;
  /** Reference data set (name or path); default: the run's data set. Required for folders. */
  data?: string;
  /** Reference split (default: test, or train for folders without a test split). */
  split?: "train" | "test";
  /** Reference images (default: n, at most the split's size). */
  refN?: number;
  /** Whose feature net measures fd, kid and pr (default: the reference data set's). */
  featnet?: string;
  inceptionWeights?: string;
  /** FID reference statistics from an .npz file (pytorch-fid's format) instead of the reference images'. */
  refStats?: string;
  temperature?: number;
  /**
   * Video HVAE runs: build each later frame's context from the drawn pixels ("sample", the default) or from the
   * likelihood's mean (exposure bias); applies to the samples scored and to last_bpd_generated.
   */
  context?: "sample" | "mean";
  seed?: number;
  kidSubsets?: number;
  kidSubsetSize?: number;
  /** Test images for bpd (default: the whole test split). */
  bpdImages?: number;
  /** Video runs: also the feature-net distance between every generated and every real frame position. */
  perFrame?: boolean;
  /** false: neither read nor write reference statistics caches. */
  cache?: boolean;
  progress?: boolean;
  log?: (message: string) => void;
}

export interface EvalReport {
  target: string;
  kind: "run" | "folder";
  run?: {
    checkpoint: string;
    step: number;
    model: string;
    temperature: number;
    seed: number;
    context?: "sample" | "mean";
  };
  data: string;
  split: string;
  /** Generated and reference images used. */
  n: number;
  refN: number;
  /** The feature-net space of fd, kid and pr. */
  featnet?: { data: string; id: string; accuracy: number };
  fd?: number;
  kid?: { mean: number; std: number; subsets: number; subsetSize: number };
  pr?: { precision: number; recall: number; k: number };
  fid?: { value: number; weights: string; sha256: string; standard: boolean; refStats?: string };
  bpd?: EvalStats;
  /** With perFrame: generated frame positions against the run's own test pseudo videos (frame-fd.ts). */
  frames?: FrameDistances;
  /** Seconds per phase (sampling, features, each metric) and in all. */
  timings: Record<string, number>;
  seconds: number;
  createdAt: string;
  env: { torch: string; threads: number };
}

export function isRunDir(target: string): boolean {
  return existsSync(path.join(target, "config.json"));
}

/** Evaluates a run folder or an image folder; see the header for the metrics. */
export async function evaluate(target: string, o: EvalOptions): Promise<EvalReport> {
  const t0 = performance.now();
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (!existsSync(target))
    throw new ArgumentError(`${target} does not exist: expected a run folder or a folder of images`);
  const run = isRunDir(target) ? await openRun(target) : null;
  const spaces: FeatureSpace[] = [];
  try {
    if (o.metrics.includes("fid") && !o.inceptionWeights)
      throw new ArgumentError(
        "fid needs --inception-weights <pt_inception-2015-12-05-6726825d.pth> (see README: Evaluation)",
      );
    if (!run && o.metrics.includes("bpd"))
      throw new ArgumentError(
        `bpd needs a trained run (a folder with config.json), but ${target} is a folder of images`,
      );
    if (o.perFrame && !run)
      throw new ArgumentError(
        `--per-frame needs a trained video run (a folder with config.json), but ${target} is a folder of images`,
      );
    if (o.perFrame && run!.shape.frames < 2)
      throw new ArgumentError(
        `--per-frame needs a video run, but ${target} trains an image model (T = 1 in its config)`,
      );
    if (o.context === "mean" && !(run && run.shape.frames > 1))
      throw new ArgumentError(
        `--context mean needs a trained video run (T > 1: later frames' context), but ${target} is ${run ? "an image model (T = 1)" : "a folder of images"}`,
      );
    const featnetMetrics = o.perFrame || o.metrics.some((m) => m === "fd" || m === "kid" || m === "pr");
    const distributional = featnetMetrics || o.metrics.includes("fid");
    // They compare distributions (means and covariances, neighbourhoods): one image has none. Precision and
    // recall look at each image's k nearest neighbours in its own set, so need k + 1 images in each.
    const minimum = o.metrics.includes("pr") ? PR_NEIGHBOURS + 1 : 2;
    const needs = o.metrics.includes("pr")
      ? `pr (the ${PR_NEIGHBOURS} nearest neighbours of each image) needs at least ${minimum}`
      : `the metrics need at least ${minimum}`;
    if (distributional && !(Number.isInteger(o.n) && o.n >= minimum))
      throw expected(`integer of at least ${minimum} (images to score)`, "n", o.n);
    if (distributional && o.refN !== undefined && !(Number.isInteger(o.refN) && o.refN >= minimum))
      throw expected(`integer of at least ${minimum} (reference images)`, "refN", o.refN);
    const needsImages = featnetMetrics || (o.metrics.includes("fid") && !o.refStats);
    const dataName = o.data ?? run?.config.data.name;
    if (needsImages && dataName === undefined)
      throw new ArgumentError(`Expected --data <name|path>: the reference images to compare ${target} with`);
    const loaded = needsImages ? await loadDataset(dataName!, { progress: o.progress }) : null;
    // A run compared with its own data set uses the test images it did not train on (held out from a folder
    // without a test split, as in training); any other reference is a plain folder used whole.
    const ownData = run !== null && dataName !== undefined && sameData(dataName, run.config.data.name);
    const reference = loaded && ownData ? withTestSplit(loaded) : loaded;
    const split = o.split ?? (reference ? defaultSplit(reference) : "test");
    if (reference && reference[split].n < minimum)
      throw new ArgumentError(
        `The ${split} split of ${reference.name} has ${reference[split].n} images: ${needs}`,
      );
    const report: EvalReport = {
      target,
      kind: run ? "run" : "folder",
      // bpd alone loads no reference: it scores the run's own test split.
      data: reference?.name ?? (o.refStats ? path.resolve(o.refStats) : run!.config.data.name),
      // Every metric of a run, bpd alone included, is of this checkpoint.
      ...(run && {
        run: {
          checkpoint: run.checkpoint,
          step: run.step,
          model: run.config.model,
          temperature: o.temperature ?? 1,
          seed: o.seed ?? 0,
          // Only a non-default context is written, so earlier reports and new ones read the same.
          ...(o.context === "mean" ? { context: o.context } : {}),
        },
      }),
      split,
      n: 0,
      refN: 0,
      timings: {},
      seconds: 0,
      createdAt: new Date().toISOString(),
      env: { torch: torchVersion(), threads: getNumThreads() },
    };
    // Feature spaces first, so that a bad weights file fails before minutes of sampling.
    const featnet = featnetMetrics ? await featnetFor(o.featnet ?? reference!.name, o, log) : null;
    if (featnet) spaces.push(featnet);
    const inception = o.metrics.includes("fid")
      ? inceptionSpace(loadFidInception(o.inceptionWeights!))
      : null;
    if (inception) spaces.push(inception);
    const published = inception && o.refStats ? readNpzStats(o.refStats) : null;
    if (published && published.dims !== INCEPTION_DIMS)
      throw new CheckpointError(
        `${o.refStats} holds ${published.dims}-d statistics; FID needs Inception's ${INCEPTION_DIMS}-d pool3 statistics`,
      );
    if (featnet || inception) {
      const t1 = performance.now();
      const videos = run ? sampled(run, o, log) : null;
      const generated = videos
        ? { images: lastFrames(videos.frames, videos.shape), n: o.n, ...run!.image }
        : await folderImages(target, o.n, o.progress);
      if (generated.n < minimum) throw new ArgumentError(`${target} holds ${generated.n} image(s): ${needs}`);
      report.timings[run ? "sampling" : "reading"] = since(t1);
      const ref = reference ? chooseReference(reference, split, o.refN ?? Math.min(o.n, generated.n)) : null;
      report.n = generated.n;
      report.refN = ref?.images.n ?? 0;
      const t = report.timings;
      if (featnet) {
        const refFeatures = timed(t, "featnet_features", () => referenceStats(featnet, ref!, o));
        const genFeatures = timed(t, "featnet_features", () => featnet.extract(generated, o.progress));
        try {
          report.featnet = { ...featnet.featnet!, id: featnet.id };
          if (o.metrics.includes("fd"))
            report.fd = timed(t, "fd", () => frechetDistance(gaussianStats(genFeatures), refFeatures.stats));
          if (o.metrics.includes("kid"))
            report.kid = timed(t, "kid", () =>
              kernelInceptionDistance(genFeatures, refFeatures.features, {
                subsets: o.kidSubsets,
                subsetSize: o.kidSubsetSize,
                seed: o.seed,
              }),
            );
          if (o.metrics.includes("pr"))
            report.pr = timed(t, "pr", () => precisionRecall(refFeatures.features, genFeatures));
        } finally {
          dispose([refFeatures.features, genFeatures]);
        }
      }
      if (featnet && o.perFrame) {
        const real = await testVideos(run!, o.refN ?? o.n);
        report.frames = timed(t, "per_frame", () => frameDistances(featnet, videos!, real, o.progress));
      }
      if (inception) {
        let refStats = published;
        if (!refStats) {
          const computed = timed(t, "inception_features", () => referenceStats(inception, ref!, o));
          computed.features.dispose();
          refStats = computed.stats;
        }
        const genFeatures = timed(t, "inception_features", () => inception.extract(generated, o.progress));
        try {
          const value = timed(t, "fid", () => frechetDistance(gaussianStats(genFeatures), refStats));
          report.fid = {
            value,
            ...inception.weights!,
            ...(o.refStats ? { refStats: path.resolve(o.refStats) } : {}),
          };
        } finally {
          genFeatures.dispose();
        }
        if (!report.fid.standard)
          log(
            `lastframe eval: ${report.fid.weights} is not the standard pytorch-fid file (sha256 ${report.fid.sha256.slice(0, 8)}…): FID values will not compare with published ones`,
          );
      }
    }
    if (run && o.metrics.includes("bpd")) {
      const t1 = performance.now();
      report.bpd = await evaluateRun(run, { limit: o.bpdImages, context: o.context });
      report.timings.bpd = since(t1);
    }
    report.seconds = since(t0);
    return report;
  } finally {
    for (const s of spaces) s.dispose();
    if (run) closeRun(run);
  }
}

/** Whether two data set names (or paths, however written) are the same data set. */
const sameData = (a: string, b: string) => a === b || path.resolve(a) === path.resolve(b);

/** Seconds since t0 (a performance.now() reading), to 10 ms. */
const since = (t0: number) => Math.round((performance.now() - t0) / 10) / 100;

/** Runs fn, adding its duration in seconds to timings[key]. */
function timed<T>(timings: Record<string, number>, key: string, fn: () => T): T {
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    timings[key] = Math.round(((timings[key] ?? 0) + since(t0)) * 100) / 100;
  }
}

/** Writes the report as <target>/eval.json (or `file`), atomically. */
export function writeReport(report: EvalReport, file = path.join(report.target, "eval.json")): string {
  writeFileAtomic(file, JSON.stringify(report, null, 2) + "\n");
  return file;
}

function sampled(run: Run, o: EvalOptions, log: (m: string) => void): VideoBytes {
  const t0 = performance.now();
  const videos = sampleVideos(run, o.n, { temperature: o.temperature, seed: o.seed, context: o.context });
  if (o.progress ?? true)
    log(
      `lastframe eval: sampled ${o.n} ${run.shape.frames > 1 ? "videos" : "images"} from ${run.checkpoint} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  return videos;
}

/** Every image of a folder (or archive), at most `n` of them spread evenly over it. */
async function folderImages(target: string, n: number, progress?: boolean): Promise<Images> {
  if (!statSync(target).isDirectory() && !/\.(tar|tar\.gz|tgz)$/i.test(target))
    throw new ArgumentError(`${target} is neither a run folder nor a folder of images`);
  const d: SplitData = await loadDataset(target, { progress });
  const sets = [d.train, ...(d.valid ? [d.valid] : []), d.test].filter((s) => s.n > 0);
  const all =
    sets.length === 1
      ? sets[0]!
      : {
          ...sets[0]!,
          n: sets.reduce((a, s) => a + s.n, 0),
          images: Buffer.concat(sets.map((s) => s.images)),
        };
  return chooseReference({ ...d, train: all }, "train", n).images;
}

async function featnetFor(data: string, o: EvalOptions, log: (m: string) => void): Promise<FeatureSpace> {
  if (!featnetConfigFor(data))
    throw new ArgumentError(
      `No feature net exists for ${data}: pass --featnet <${featnetDataSets.join("|")}> to measure fd, kid and pr in one of their ` +
        "spaces (images are resized and converted to its input), or use --metrics fid with Inception weights",
    );
  return featnetSpace(await ensureFeatNet(data, { progress: o.progress, log }));
}
