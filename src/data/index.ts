// lastframe's data module: data sets in, compact uint8 arrays out.
//
//   import { loadDataset } from "./data/index.js";
//   const d = await loadDataset("cifar10");                      // named data set
//   const d = await loadDataset("/data/my-photos", { size: 64 }); // a path: format detected
//   const d = await loadDataset({ dataset: "celeba64", limit: 1000 });
//   d.train.images  // Uint8Array, NCHW: d.train.n x d.train.c x d.train.h x d.train.w
//   d.train.labels  // Int32Array | null, d.train.classes: string[] | null; d.test likewise; d.valid for CelebA
//
// Named data sets (see paths.ts for where they are looked up; `path` overrides):
//   mnist, fashion-mnist  idx files, 60,000 train / 10,000 test, 28x28x1, 10 classes
//   cifar10               cifar-10-batches-bin (preferred) or the JPEG tree train|test/<class>/NNNN.jpg (folder or
//                         .tar.gz), 50,000 / 10,000, 32x32x3, classes airplane ... truck
//   celeba64              img_align_celeba/NNNNNN.jpg (folder or .tar.gz), cropped 140x140 at (19, 39) and
//                         resized to 64x64x3; train / valid / test by the official file-number split
// A path (folder or .tar/.tar.gz/.tgz) is detected as, in order: idx files, a CIFAR-10 binary folder, a CelebA
// img_align_celeba folder, or a generic image folder (images.ts describes its layout).
//
// Options change the output (size, channels, fit, kernel, limit, testFraction, skipCorrupt) or only the work
// (concurrency, cache, cacheDir, progress, log). Prepared data is cached (cache.ts); the cache key covers the
// source (path + size/mtime fingerprint) and every output-changing option, so a changed source or option
// rebuilds. Errors about the data are DataErrors naming the file and the problem; bad options are
// ArgumentErrors.

import path from "node:path";
import { DataError, expected } from "../errors.js";
import { cacheFilePath, defaultCacheDir, readCache, writeCache } from "./cache.js";
import { CIFAR10_CLASSES, findCifarBinRoot, prepareCifarBin } from "./cifar.js";
import { emptySet, type PrepareContext, type PrepareParams, type Prepared } from "./common.js";
import { FASHION_MNIST_CLASSES, MNIST_CLASSES, findIdxRoot, prepareIdx } from "./idx.js";
import { findCelebaRoot, prepareCeleba, prepareImageFolder } from "./images.js";
import { candidatePaths, resolveNamed } from "./paths.js";
import { Progress } from "./progress.js";
import { openSource, type Source, type SourceFile } from "./source.js";
import type { DatasetInfo, ImageSet, SourceFormat, SplitData } from "./types.js";

export type { ImageSet, SplitData } from "./types.js";
export { Progress, formatCount, formatDuration } from "./progress.js";
export { readIdx, parseIdx, MNIST_CLASSES } from "./idx.js";
export { parseCifarBin, CIFAR10_CLASSES } from "./cifar.js";
export { defaultSplit, holdOutValidation, withTestSplit } from "./splits.js";
export { readTar, type TarEntry } from "./tar.js";
export { CACHE_FORMAT_VERSION, cacheRoot, readCache, writeCache } from "./cache.js";
export { repoRoot } from "./paths.js";
export { DataError } from "../errors.js";

export const datasetNames = ["mnist", "fashion-mnist", "cifar10", "celeba64"] as const;
export type DatasetName = (typeof datasetNames)[number];

export interface DatasetOptions {
  /** A named data set or a path; used when loadDataset gets an options object. */
  dataset?: string;
  /** Source folder or archive, overriding where a named data set is looked up. */
  path?: string;
  /** Output size: n for n x n, or [h, w]. Default: the format's (28, 32, 64 for CelebA, first image's). */
  size?: number | readonly [number, number];
  /** Output channels, 1 or 3. Default: the format's (first image's for folders). */
  channels?: 1 | 3;
  /** At most this many images per split, spread evenly over the split (for tests and quick runs). */
  limit?: number;
  /** false (default): a corrupt image fails the load, naming the file; true: skip it (listed in info.skipped). */
  skipCorrupt?: boolean;
  /** How images of another aspect ratio reach `size`: "cover" (default: scale + centre crop), "contain", "fill". */
  fit?: "cover" | "contain" | "fill";
  /** Resampling filter (default "linear": antialiased bilinear). */
  kernel?: "nearest" | "linear" | "cubic" | "mitchell" | "lanczos2" | "lanczos3";
  /** Image folders without split folders: fraction of images held out as test (default 0). */
  testFraction?: number;
  /** Images decoded concurrently (default 8). */
  concurrency?: number;
  /** false: neither read nor write the cache (default true). */
  cache?: boolean;
  /** Cache folder (default <cache root>/data: $LASTFRAME_CACHE/data or <repo>/.cache/lastframe/data). */
  cacheDir?: string;
  /** false: no progress output (default true: a bar on a TTY stderr, else a line every 10 s and at the end). */
  progress?: boolean;
  /** Where notices go (cache rebuilt, images skipped); default: stderr. */
  log?: (message: string) => void;
}

function normalise(o: DatasetOptions): PrepareParams {
  let size: [number, number] | undefined;
  if (o.size !== undefined) {
    const s = typeof o.size === "number" ? [o.size, o.size] : o.size;
    if (!Array.isArray(s) || s.length !== 2 || !s.every((v) => Number.isInteger(v) && v > 0 && v <= 16384)) {
      throw expected("a positive integer or [height, width]", "size", o.size);
    }
    size = [s[0]!, s[1]!];
  }
  if (o.channels !== undefined && o.channels !== 1 && o.channels !== 3)
    throw expected("1 or 3", "channels", o.channels);
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit > 0)) {
    throw expected("a positive integer", "limit", o.limit);
  }
  if (o.fit !== undefined && !["cover", "contain", "fill"].includes(o.fit)) {
    throw expected('"cover", "contain" or "fill"', "fit", o.fit);
  }
  const kernels = ["nearest", "linear", "cubic", "mitchell", "lanczos2", "lanczos3"];
  if (o.kernel !== undefined && !kernels.includes(o.kernel))
    throw expected(kernels.join(" | "), "kernel", o.kernel);
  const tf = o.testFraction ?? 0;
  if (!(typeof tf === "number" && tf >= 0 && tf < 1))
    throw expected("a number in [0, 1)", "testFraction", tf);
  const conc = o.concurrency ?? 8;
  if (!(Number.isInteger(conc) && conc > 0)) throw expected("a positive integer", "concurrency", conc);
  return {
    size,
    channels: o.channels,
    limit: o.limit,
    skipCorrupt: o.skipCorrupt ?? false,
    fit: o.fit ?? "cover",
    kernel: o.kernel ?? "linear",
    testFraction: tf,
    concurrency: conc,
  };
}

/** For archives: the single top-level folder every file sits in, else "". */
function archiveTop(source: Source, files: readonly SourceFile[]): string {
  if (source.kind !== "tar" || files.length === 0) return "";
  const first = files[0]!.rel;
  const slash = first.indexOf("/");
  if (slash < 0) return "";
  const top = first.slice(0, slash + 1);
  return files.every((f) => f.rel.startsWith(top)) ? top.slice(0, -1) : "";
}

async function prepare(
  ctx: PrepareContext,
  named: DatasetName | null,
): Promise<Prepared & { format: SourceFormat }> {
  const files = await ctx.source.list();
  const where = ctx.source.path;
  if (files.length === 0) throw new DataError(`${where} is empty`);
  const idxRoot = findIdxRoot(files);
  if (named === "mnist" || named === "fashion-mnist") {
    if (idxRoot === null)
      throw new DataError(`${where} holds no idx files (train-images-idx3-ubyte[.gz] ...)`);
    const classes = named === "mnist" ? MNIST_CLASSES : FASHION_MNIST_CLASSES;
    return { ...(await prepareIdx(ctx, files, idxRoot, classes)), format: "idx" };
  }
  const cifarRoot = findCifarBinRoot(files);
  if (named === "cifar10") {
    if (cifarRoot !== null) return { ...(await prepareCifarBin(ctx, files, cifarRoot)), format: "cifar-bin" };
    return {
      ...(await prepareImageFolder(ctx, files, archiveTop(ctx.source, files), CIFAR10_CLASSES)),
      format: "image-folder",
    };
  }
  const celebaRoot = findCelebaRoot(files, path.basename(where));
  if (named === "celeba64") {
    if (celebaRoot === null)
      throw new DataError(`${where} holds no img_align_celeba folder of NNNNNN.jpg images`);
    return { ...(await prepareCeleba(ctx, files, celebaRoot)), format: "celeba" };
  }
  if (idxRoot !== null) {
    const classes = /fashion/i.test(where) ? FASHION_MNIST_CLASSES : MNIST_CLASSES;
    return { ...(await prepareIdx(ctx, files, idxRoot, classes)), format: "idx" };
  }
  if (cifarRoot !== null) return { ...(await prepareCifarBin(ctx, files, cifarRoot)), format: "cifar-bin" };
  if (celebaRoot !== null) return { ...(await prepareCeleba(ctx, files, celebaRoot)), format: "celeba" };
  return { ...(await prepareImageFolder(ctx, files, archiveTop(ctx.source, files))), format: "image-folder" };
}

function nameFromPath(p: string): string {
  return path.basename(p).replace(/\.(tar\.gz|tgz|tar)$/i, "") || "data";
}

/**
 * Loads a data set by name (`datasetNames`) or path, from the cache when possible, else by preparing it (and
 * caching the result). `spec` may be the name/path or an options object with `dataset`; `opts` adds options.
 */
export async function loadDataset(
  spec: string | DatasetOptions,
  opts: DatasetOptions = {},
): Promise<SplitData> {
  const o: DatasetOptions = typeof spec === "string" ? { ...opts, dataset: spec } : { ...spec, ...opts };
  const t0 = performance.now();
  const log = o.log ?? ((m: string) => process.stderr.write(`lastframe data: ${m}\n`));
  const dataset = o.dataset ?? o.path;
  if (typeof dataset !== "string" || dataset === "") {
    throw expected(`a data set name (${datasetNames.join(", ")}) or a path`, "dataset", dataset);
  }
  const params = normalise(o);
  const named = (datasetNames as readonly string[]).includes(dataset) ? (dataset as DatasetName) : null;
  let srcPath = o.path ?? (named ? resolveNamed(named) : dataset);
  if (srcPath === null) {
    throw new DataError(
      `Data set ${named} not found; looked in ${candidatePaths(named!).join(", ")}. ` +
        `Pass a path, or set LASTFRAME_DATA to a folder that holds it`,
    );
  }
  srcPath = path.resolve(srcPath);
  const source = await openSource(srcPath);
  const name = named ?? nameFromPath(srcPath);
  const { concurrency: _c, ...keyParams } = params;
  void _c;
  const key = JSON.stringify({
    dataset: named ?? "auto",
    source: source.path,
    fingerprint: await source.fingerprint(),
    params: keyParams,
  });
  const useCache = o.cache ?? true;
  const cacheFile = useCache ? cacheFilePath(path.resolve(o.cacheDir ?? defaultCacheDir()), name, key) : null;
  if (cacheFile) {
    const got = await readCache(cacheFile, key);
    if (got.status === "hit") {
      got.data.info.ms = performance.now() - t0;
      return got.data;
    }
    if (got.status === "stale") log(`cache ${cacheFile} is out of date: ${got.reason}; rebuilding`);
  }
  const ctx: PrepareContext = {
    source,
    params,
    name,
    progress: (total) =>
      new Progress({ total, label: `preparing ${name}`, unit: "img", enabled: o.progress ?? true }),
    log,
  };
  const prepared = await prepare(ctx, named);
  const s = prepared.splits;
  const first = (s.train ?? s.test ?? s.valid) as ImageSet;
  const info: DatasetInfo = {
    source: source.path,
    format: prepared.format,
    fromCache: false,
    cacheFile: null,
    skipped: prepared.skipped,
    ignored: prepared.ignored,
    ms: 0,
  };
  const blank = () => emptySet(first.c, first.h, first.w, first.classes, first.labels !== null);
  const data: SplitData = { name, train: s.train ?? blank(), test: s.test ?? blank(), info };
  if (s.valid) data.valid = s.valid;
  if (cacheFile) {
    try {
      await writeCache(cacheFile, key, data);
      info.cacheFile = cacheFile;
    } catch (e) {
      log(`could not write cache ${cacheFile}: ${(e as Error).message}`);
    }
  }
  info.ms = performance.now() - t0;
  return data;
}
