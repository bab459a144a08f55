// Training, storing and loading the feature nets of featnets.ts. Training is seeded (weights, shuffling,
// augmentation), so `lastframe featnet --data mnist` twice gives the same net on the same machine and thread
// count. The test accuracy is measured on the data set's test split and stored beside the weights.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { type ImageSet, Progress, type SplitData, loadDataset, withTestSplit } from "../data/index.js";
import { AdamW, loadModule, saveModule, warmupCosine } from "../nn/index.js";
import {
  CheckpointError,
  DataError,
  crossEntropy,
  type Tensor,
  fromTyped,
  getNumThreads,
  keep,
  manualSeed,
  tidy,
  torchVersion,
} from "../tensor/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import { type Images, extractFeatures } from "./features.js";
import {
  type FeatNet,
  type FeatNetConfig,
  augmentBatch,
  createFeatNet,
  featnetConfigs,
  featnetInput,
  featureDims,
} from "./featnets.js";
import { permutation, mulberry32 } from "../util/random.js";
import { featnetDir, pinnedFeatnetDir, sha256 } from "./store.js";

export interface FeatNetInfo {
  /** The data set it was trained on, which names it. */
  data: string;
  config: FeatNetConfig;
  /** Accuracy on the data set's test split. */
  accuracy: number;
  trainImages: number;
  testImages: number;
  seconds: number;
  /** First 12 hex digits of the weights file's sha256: names the feature space in statistics caches. */
  id: string;
  /** sha256 of the training images, so a changed data set is noticed. */
  dataSha256: string;
  torch: string;
  threads: number;
  createdAt: string;
}

export interface TrainedFeatNet {
  net: FeatNet;
  info: FeatNetInfo;
  /** The folder it is stored in. */
  dir: string;
}

export interface TrainOptions {
  progress?: boolean;
  log?: (message: string) => void;
}

/** Data sets that have a feature net (the `tiny` config is for tests). */
export const featnetDataSets: readonly string[] = Object.keys(featnetConfigs).filter((k) => k !== "tiny");

/** A data set's feature net config, or null when it has none. */
export function featnetConfigFor(data: string): FeatNetConfig | null {
  return featnetDataSets.includes(data) ? featnetConfigs[data as keyof typeof featnetConfigs] : null;
}

/** Trains a feature net on `data.train` and measures its accuracy on `data.test`. */
export function trainFeatNet(
  cfg: FeatNetConfig,
  data: SplitData,
  o: TrainOptions = {},
): { net: FeatNet; accuracy: number; seconds: number } {
  const { train, test } = data;
  if (!train.labels || !test.labels)
    throw new DataError(`${data.name} has no class labels: a feature net is trained as a classifier`);
  const t0 = performance.now();
  manualSeed(cfg.seed);
  const rng = mulberry32(cfg.seed);
  const net = createFeatNet(cfg);
  const opt = new AdamW(net.parameters(), { lr: cfg.lr, weightDecay: cfg.weightDecay });
  const stepsPerEpoch = Math.floor(train.n / cfg.batch);
  const total = stepsPerEpoch * cfg.epochs;
  const lr = warmupCosine({ lr: cfg.lr, warmup: Math.min(200, Math.floor(total / 10)), total });
  const per = train.c * train.h * train.w;
  const images = keep(
    fromTyped(train.images.subarray(0, train.n * per), [train.n, train.c, train.h, train.w]),
  );
  const labels = keep(fromTyped(train.labels.subarray(0, train.n), [train.n], { dtype: "int64" }));
  const bar = new Progress({
    total,
    label: `featnet ${data.name}`,
    unit: "step",
    enabled: o.progress ?? true,
  });
  try {
    net.train();
    for (let epoch = 0, step = 0; epoch < cfg.epochs; epoch++) {
      const order = permutation(rng, train.n);
      for (let b = 0; b < stepsPerEpoch; b++, step++) {
        const loss = tidy(() => {
          const idx = fromTyped(order.subarray(b * cfg.batch, (b + 1) * cfg.batch), [cfg.batch], {
            dtype: "int64",
          });
          let x = featnetInput(images.indexSelect(0, idx), cfg);
          if (cfg.augment) x = augmentBatch(x, rng);
          const l = crossEntropy(net.forward(x), labels.indexSelect(0, idx));
          opt.zeroGrad();
          l.backward();
          opt.lr = lr(step);
          opt.update();
          return l.item();
        });
        bar.tick(1, { epoch: epoch + 1, loss });
      }
    }
    bar.done();
  } finally {
    images.dispose();
    labels.dispose();
    opt.dispose();
  }
  net.eval();
  const accuracy = testAccuracy(net, cfg, test, o.progress);
  return { net, accuracy, seconds: (performance.now() - t0) / 1000 };
}

/** Fraction of `set` the net classifies correctly. */
export function testAccuracy(net: FeatNet, cfg: FeatNetConfig, set: ImageSet, progress = false): number {
  if (!set.labels) throw new DataError("accuracy needs labelled images");
  const predictions = extractFeatures(set, (x) => net.forward(featnetInput(x, cfg)).argmax(1, true), {
    label: "featnet accuracy",
    bytesPerImage: 64 * 1024,
    progress,
  });
  const predicted = predictions.data() as Float32Array;
  predictions.dispose();
  let correct = 0;
  for (let i = 0; i < set.n; i++) if (predicted[i] === set.labels[i]) correct++;
  return correct / set.n;
}

/** Saves weights and info under `dir` (model.safetensors + model.json); returns the info with its id set. */
export function saveFeatNet(dir: string, net: FeatNet, info: Omit<FeatNetInfo, "id">): FeatNetInfo {
  const file = path.join(dir, "model.safetensors");
  saveModule(file, net);
  const full = { ...info, id: sha256(readFileSync(file), 12) };
  writeFileAtomic(path.join(dir, "model.json"), JSON.stringify(full, null, 2) + "\n");
  return full;
}

/** The stored feature net for a data set, or null if none has been trained. */
export function loadFeatNet(data: string, dir = featnetDir(data)): TrainedFeatNet | null {
  const json = path.join(dir, "model.json");
  const weights = path.join(dir, "model.safetensors");
  const info = readFeatNetInfo(data, dir);
  if (!info) return null;
  const id = sha256(readFileSync(weights), 12);
  if (id !== info.id)
    throw new CheckpointError(
      `${weights} does not match ${json} (sha256 ${id}, expected ${info.id}): retrain with 'lastframe featnet --data ${data}'`,
    );
  const net = createFeatNet(info.config);
  loadModule(weights, net);
  net.eval();
  return { net, info, dir };
}

/** The feature net evaluation uses: the cache's, else the one the repository pins, else null. */
export function storedFeatNet(data: string): TrainedFeatNet | null {
  return loadFeatNet(data) ?? loadFeatNet(data, pinnedFeatnetDir(data));
}

/** The info (id, accuracy, provenance) of the net stored in `dir`, or null if it holds no complete net. */
function readFeatNetInfo(data: string, dir: string): FeatNetInfo | null {
  const json = path.join(dir, "model.json");
  if (!existsSync(json) || !existsSync(path.join(dir, "model.safetensors"))) return null;
  try {
    return JSON.parse(readFileSync(json, "utf8")) as FeatNetInfo;
  } catch {
    throw new CheckpointError(
      `${json} is not valid JSON: delete ${dir} and run 'lastframe featnet --data ${data}' again`,
    );
  }
}

/** What storedFeatNet would load, without loading the weights. */
export function storedFeatNetInfo(data: string): FeatNetInfo | null {
  return readFeatNetInfo(data, featnetDir(data)) ?? readFeatNetInfo(data, pinnedFeatnetDir(data));
}

/** Trains a data set's feature net, checks it reaches its stated accuracy, and stores it. */
export async function buildFeatNet(
  data: string,
  o: TrainOptions & {
    config?: FeatNetConfig;
    dir?: string;
    /** images per split, for quick runs */ limit?: number;
  } = {},
): Promise<TrainedFeatNet> {
  const cfg = o.config ?? featnetConfigFor(data);
  if (!cfg)
    throw new DataError(
      `no feature net is defined for ${data}; feature nets exist for ${featnetDataSets.join(", ")}`,
    );
  // Accuracy is measured on test images: held out from train when the data has no test split.
  const split = withTestSplit(await loadDataset(data, { progress: o.progress, limit: o.limit }));
  const { net, accuracy, seconds } = trainFeatNet(cfg, split, o);
  if (accuracy < cfg.minAccuracy) {
    net.dispose();
    throw new DataError(
      `the ${data} feature net reached test accuracy ${accuracy.toFixed(4)}, below its stated ${cfg.minAccuracy}; not stored`,
    );
  }
  const dir = o.dir ?? featnetDir(data);
  const info = saveFeatNet(dir, net, {
    data,
    config: cfg,
    accuracy,
    trainImages: split.train.n,
    testImages: split.test.n,
    seconds: Math.round(seconds * 10) / 10,
    dataSha256: sha256(split.train.images),
    torch: torchVersion(),
    threads: getNumThreads(),
    createdAt: new Date().toISOString(),
  });
  return { net, info, dir };
}

/** The stored feature net, or a freshly trained one (with a notice) when none is stored yet. */
export async function ensureFeatNet(data: string, o: TrainOptions = {}): Promise<TrainedFeatNet> {
  const stored = storedFeatNet(data);
  if (stored) return stored;
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  log(
    `lastframe: no feature net for ${data} in ${featnetDir(data)} or ${pinnedFeatnetDir(data)} yet; training it now ('lastframe featnet --data ${data}' does this ahead of time)`,
  );
  return buildFeatNet(data, o);
}

/** Features (N, D) of uint8 images in a feature net's space. */
export function featnetFeatures(f: TrainedFeatNet, set: Images, progress = true): Tensor {
  const cfg = f.info.config;
  return extractFeatures(set, (x) => f.net.features(featnetInput(x, cfg)), {
    label: `features (${f.info.data} ${cfg.arch}, ${featureDims(cfg)}-d)`,
    bytesPerImage: 256 * 1024,
    progress,
  });
}
