// Encoded-image data sets: generic image folders (also CIFAR-10 as JPEG folders) and CelebA's img_align_celeba.
//
// Image folder layout, under the folder (or the archive's single top-level folder):
//   - split folders: train/ plus test/ and/or val|valid|validation/ -> those splits; otherwise every image is in
//     train and `testFraction` of them (chosen by a hash of the path, so stable) go to test;
//   - inside a split, when every image sits in a sub-folder, the first sub-folder level names its class (labels
//     index the sorted class names, shared by all splits); otherwise the images are unlabelled.
// Images: .png .jpg .jpeg .webp .gif .tif .tiff .avif; other files are ignored (and counted). Each image is
// resized to the target size (default: the first image's size) with `fit` (default "cover": scale and
// centre-crop) and converted to the target channels (default: the first image's: 1 for grey, else 3).
//
// CelebA: img_align_celeba/NNNNNN.jpg (178x218); each image is cropped to 140x140 at left 19, top 39 and resized
// to 64x64 (or `size`) with a linear (antialiased triangle) filter. Split by file number: train 1-162770,
// valid 162771-182637, test 182638-202599. Labels are identity numbers when identity.txt or identity_CelebA.txt
// is present (-1 for images it does not list), else null.

import { DataError } from "../errors.js";
import {
  baseOf,
  dirOf,
  fnv1a,
  pickIndices,
  readFiles,
  type PrepareContext,
  type Prepared,
} from "./common.js";
import { decodeInto, probeImage, withDecodeTuning, type DecodeSpec } from "./decode.js";
import type { SourceFile } from "./source.js";
import type { ImageSet, SplitName } from "./types.js";

export const IMAGE_EXTENSIONS = [".png", ".jpg", ".jpeg", ".webp", ".gif", ".tif", ".tiff", ".avif"];

export function isImageName(rel: string): boolean {
  const b = baseOf(rel).toLowerCase();
  const dot = b.lastIndexOf(".");
  return dot > 0 && IMAGE_EXTENSIONS.includes(b.slice(dot));
}

const SPLIT_DIRS: Record<string, SplitName> = {
  train: "train",
  test: "test",
  val: "valid",
  valid: "valid",
  validation: "valid",
};

interface Job {
  rel: string;
  split: SplitName;
  index: number;
}

interface SplitPlan {
  rels: string[];
  labels: Int32Array | null;
}

/** Decodes all jobs into per-split buffers; returns them with corrupt slots removed when skipCorrupt. */
async function decodeSplits(
  ctx: PrepareContext,
  plans: Partial<Record<SplitName, SplitPlan>>,
  spec: DecodeSpec,
  classes: string[] | null,
): Promise<{ splits: Partial<Record<SplitName, ImageSet>>; skipped: string[] }> {
  const per = spec.c * spec.h * spec.w;
  const jobs = new Map<string, Job>();
  const outs: Partial<Record<SplitName, Uint8Array>> = {};
  let total = 0;
  for (const [split, plan] of Object.entries(plans) as [SplitName, SplitPlan][]) {
    outs[split] = new Uint8Array(plan.rels.length * per);
    plan.rels.forEach((rel, index) => jobs.set(rel, { rel, split, index }));
    total += plan.rels.length;
  }
  const bad: Record<SplitName, Set<number>> = { train: new Set(), valid: new Set(), test: new Set() };
  const skipped: string[] = [];
  const progress = ctx.progress(total);
  await withDecodeTuning(() =>
    ctx.source.readEach(
      [...jobs.keys()],
      async (rel, data) => {
        const job = jobs.get(rel)!;
        try {
          await decodeInto(data, ctx.source.describe(rel), spec, outs[job.split]!, job.index);
        } catch (e) {
          if (!ctx.params.skipCorrupt) throw e;
          bad[job.split].add(job.index);
          skipped.push(ctx.source.describe(rel));
          if (skipped.length <= 10) progress.log(`skipping: ${(e as Error).message}`);
        }
        progress.tick();
      },
      ctx.params.concurrency,
    ),
  );
  progress.done(skipped.length ? { skipped: skipped.length } : undefined);
  if (skipped.length > 10) ctx.log(`skipped ${skipped.length} corrupt images in total`);
  const splits: Partial<Record<SplitName, ImageSet>> = {};
  for (const [split, plan] of Object.entries(plans) as [SplitName, SplitPlan][]) {
    let images = outs[split]!;
    let labels = plan.labels;
    const drop = bad[split];
    const n = plan.rels.length - drop.size;
    if (drop.size > 0) {
      const kept = new Uint8Array(n * per);
      const keptLabels = labels ? new Int32Array(n) : null;
      for (let i = 0, j = 0; i < plan.rels.length; i++) {
        if (drop.has(i)) continue;
        kept.set(images.subarray(i * per, (i + 1) * per), j * per);
        if (keptLabels && labels) keptLabels[j] = labels[i]!;
        j++;
      }
      images = kept;
      labels = keptLabels;
    }
    splits[split] = { images, n, c: spec.c, h: spec.h, w: spec.w, labels, classes: labels ? classes : null };
  }
  return { splits, skipped: skipped.sort() };
}

/** Default [h, w] and channels from the first image when not given. */
async function targetShape(
  ctx: PrepareContext,
  firstRel: string,
): Promise<{ h: number; w: number; c: 1 | 3 }> {
  const { size, channels } = ctx.params;
  if (size && channels) return { h: size[0], w: size[1], c: channels };
  const bytes = await readFiles(ctx.source, [firstRel]);
  const probe = await probeImage(bytes.get(firstRel)!, ctx.source.describe(firstRel));
  return { h: size?.[0] ?? probe.h, w: size?.[1] ?? probe.w, c: channels ?? probe.c };
}

/**
 * Prepares an image folder rooted at `root` (relative path in the source, "" for its top). With
 * `fixedClasses`, the class folders must be exactly those names and labels follow that order.
 */
export async function prepareImageFolder(
  ctx: PrepareContext,
  files: readonly SourceFile[],
  root: string,
  fixedClasses?: readonly string[],
): Promise<Prepared> {
  const prefix = root ? `${root}/` : "";
  const inRoot = files.filter((f) => f.rel.startsWith(prefix)).map((f) => f.rel.slice(prefix.length));
  const images = inRoot.filter(isImageName);
  const ignored = inRoot.length - images.length;
  const where = ctx.source.describe(root || ".");
  if (images.length === 0) {
    throw new DataError(
      `No images found in ${where} (looked for ${IMAGE_EXTENSIONS.join(" ")}` +
        `${ignored ? `; ${ignored} other file(s) ignored` : ""})`,
    );
  }
  // Split folders: every image under train/, test/, val/ ... with train/ among them.
  const bySplit: Partial<Record<SplitName, string[]>> = {};
  const top = (rel: string) => (rel.includes("/") ? rel.slice(0, rel.indexOf("/")) : null);
  const splitOf = (rel: string): SplitName | null => {
    const t = top(rel);
    return t !== null && Object.hasOwn(SPLIT_DIRS, t) ? SPLIT_DIRS[t]! : null;
  };
  const useSplitDirs = images.some((r) => splitOf(r) === "train") && images.every((r) => splitOf(r) !== null);
  if (useSplitDirs) {
    for (const rel of images) (bySplit[splitOf(rel)!] ??= []).push(rel);
  } else {
    const frac = ctx.params.testFraction;
    for (const rel of images) {
      const split: SplitName = frac > 0 && fnv1a(Buffer.from(rel)) / 2 ** 32 < frac ? "test" : "train";
      (bySplit[split] ??= []).push(rel);
    }
  }
  bySplit.train ??= [];
  bySplit.test ??= [];
  // Classes: the first folder level under each split (or under the root), when every image has one.
  const within = (rel: string) => (useSplitDirs ? rel.slice(rel.indexOf("/") + 1) : rel);
  const classOf = (rel: string) => top(within(rel));
  const labelled = (Object.values(bySplit) as string[][]).every((rels) =>
    rels.every((r) => classOf(r) !== null),
  );
  let classes: string[] | null = null;
  if (labelled) {
    const found = [...new Set(images.map((r) => classOf(r)!))].sort();
    if (fixedClasses) {
      const want = [...fixedClasses].sort();
      if (found.length !== want.length || found.some((c, i) => c !== want[i])) {
        throw new DataError(
          `${where}: expected class folders ${fixedClasses.join(", ")} but found ${found.join(", ") || "none"}`,
        );
      }
      classes = [...fixedClasses];
    } else classes = found;
  } else if (fixedClasses) {
    throw new DataError(`${where}: expected every image inside a class folder (${fixedClasses.join(", ")})`);
  }
  const classIndex = new Map((classes ?? []).map((c, i) => [c, i]));
  const plans: Partial<Record<SplitName, SplitPlan>> = {};
  for (const [split, rels] of Object.entries(bySplit) as [SplitName, string[]][]) {
    const pick = pickIndices(rels.length, ctx.params.limit).map((i) => rels[i]!);
    plans[split] = {
      rels: pick.map((r) => prefix + r),
      labels: classes ? Int32Array.from(pick, (r) => classIndex.get(classOf(r)!)!) : null,
    };
  }
  const firstRel = (plans.train!.rels[0] ?? plans.test!.rels[0] ?? plans.valid?.rels[0])!;
  const shape = await targetShape(ctx, firstRel);
  const spec: DecodeSpec = { ...shape, fit: ctx.params.fit, kernel: ctx.params.kernel, autoOrient: true };
  const { splits, skipped } = await decodeSplits(ctx, plans, spec, classes);
  return { splits, skipped, ignored };
}

const CELEBA_NAME = /^(\d{6})\.(jpg|jpeg|png)$/i;
export const CELEBA_SPLITS = { trainLast: 162770, validLast: 182637, testLast: 202599 };
export const CELEBA_CROP = { left: 19, top: 39, width: 140, height: 140 };

/**
 * The folder (relative path) holding CelebA's NNNNNN.jpg files: a folder named img_align_celeba, or the source
 * itself when `sourceName` is img_align_celeba. Null when absent.
 */
export function findCelebaRoot(files: readonly SourceFile[], sourceName: string): string | null {
  for (const f of files) {
    const d = dirOf(f.rel);
    if (baseOf(d) === "img_align_celeba" && CELEBA_NAME.test(baseOf(f.rel))) return d;
  }
  if (sourceName === "img_align_celeba" && files.some((f) => !f.rel.includes("/") && CELEBA_NAME.test(f.rel)))
    return "";
  return null;
}

export async function prepareCeleba(
  ctx: PrepareContext,
  files: readonly SourceFile[],
  root: string,
): Promise<Prepared> {
  const bySplit: Record<SplitName, string[]> = { train: [], valid: [], test: [] };
  let ignored = 0;
  for (const f of files) {
    if (dirOf(f.rel) !== root) continue;
    const m = CELEBA_NAME.exec(baseOf(f.rel));
    if (!m) {
      ignored++;
      continue;
    }
    const num = Number(m[1]);
    const split: SplitName | null =
      num < 1 || num > CELEBA_SPLITS.testLast
        ? null
        : num <= CELEBA_SPLITS.trainLast
          ? "train"
          : num <= CELEBA_SPLITS.validLast
            ? "valid"
            : "test";
    if (split) bySplit[split].push(f.rel);
    else ignored++;
  }
  const total = bySplit.train.length + bySplit.valid.length + bySplit.test.length;
  if (total === 0)
    throw new DataError(`No CelebA images (NNNNNN.jpg) found in ${ctx.source.describe(root || ".")}`);
  // Identities, when the annotation file is around.
  const idFile = files.find((f) => /^identity(_CelebA)?\.txt$/i.test(baseOf(f.rel)));
  let identity: Map<string, number> | null = null;
  if (idFile) {
    identity = new Map();
    const text = (await readFiles(ctx.source, [idFile.rel])).get(idFile.rel)!.toString("utf8");
    for (const line of text.split(/\r?\n/)) {
      const [file, id] = line.trim().split(/\s+/);
      if (file && id && /^\d+$/.test(id)) identity.set(file, Number(id));
    }
  }
  const plans: Partial<Record<SplitName, SplitPlan>> = {};
  for (const split of ["train", "valid", "test"] as const) {
    const rels = pickIndices(bySplit[split].length, ctx.params.limit).map((i) => bySplit[split][i]!);
    plans[split] = {
      rels,
      labels: identity ? Int32Array.from(rels, (r) => identity.get(baseOf(r)) ?? -1) : null,
    };
  }
  const [h, w] = ctx.params.size ?? [64, 64];
  const spec: DecodeSpec = {
    h,
    w,
    c: ctx.params.channels ?? 3,
    crop: CELEBA_CROP,
    fit: "fill",
    kernel: ctx.params.kernel,
    autoOrient: false,
  };
  const { splits, skipped } = await decodeSplits(ctx, plans, spec, null);
  for (const s of Object.values(splits)) if (!s.labels) s.classes = null;
  return { splits, skipped, ignored };
}
