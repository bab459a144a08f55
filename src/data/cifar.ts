// CIFAR-10 binary format ("cifar-10-batches-bin"): data_batch_1.bin ... data_batch_5.bin (train) and
// test_batch.bin (test); each record is 1 label byte (0-9) then 3072 bytes: the 32x32 R plane, G plane, B plane
// (row-major) -- already CHW. Class names come from batches.meta.txt when present.

import { DataError } from "../errors.js";
import {
  baseOf,
  dirOf,
  fromRaw,
  pickIndices,
  readFiles,
  requireFile,
  type PrepareContext,
  type Prepared,
} from "./common.js";
import type { SourceFile } from "./source.js";

export const CIFAR10_CLASSES = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
];

const CIFAR_RECORD = 1 + 3072;

/** Parses one or more concatenated CIFAR-10 binary batches; `name` is used in error messages. */
export function parseCifarBin(
  buf: Uint8Array,
  name: string,
): { images: Uint8Array; labels: Int32Array; n: number } {
  if (buf.length === 0 || buf.length % CIFAR_RECORD !== 0) {
    throw new DataError(
      `${name} has ${buf.length} bytes, not a positive multiple of ${CIFAR_RECORD} ` +
        `(1 label byte + 3072 pixel bytes per image): truncated, or not a CIFAR-10 binary batch`,
    );
  }
  const n = buf.length / CIFAR_RECORD;
  const images = new Uint8Array(n * 3072);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const off = i * CIFAR_RECORD;
    const label = buf[off]!;
    if (label > 9) {
      throw new DataError(
        `${name}: record ${i} has label ${label} (expected 0-9; CIFAR-100 binaries are not supported)`,
      );
    }
    labels[i] = label;
    images.set(buf.subarray(off + 1, off + CIFAR_RECORD), i * 3072);
  }
  return { images, labels, n };
}

/** The directory (relative path) holding data_batch_1.bin, or null. */
export function findCifarBinRoot(files: readonly SourceFile[]): string | null {
  const hit = files.find((f) => baseOf(f.rel) === "data_batch_1.bin");
  return hit ? dirOf(hit.rel) : null;
}

export async function prepareCifarBin(
  ctx: PrepareContext,
  files: readonly SourceFile[],
  root: string,
): Promise<Prepared> {
  const inRoot = files.filter((f) => dirOf(f.rel) === root);
  const batchNo = (f: SourceFile): number =>
    Number(/^data_batch_(\d+)\.bin$/.exec(baseOf(f.rel))?.[1] ?? NaN);
  const train = inRoot.filter((f) => Number.isFinite(batchNo(f))).sort((a, b) => batchNo(a) - batchNo(b));
  const test = inRoot.find((f) => baseOf(f.rel) === "test_batch.bin");
  if (!test) throw new DataError(`${ctx.source.describe(root || ".")}: test_batch.bin is missing`);
  const meta = inRoot.find((f) => baseOf(f.rel) === "batches.meta.txt");
  const bytes = await readFiles(ctx.source, [
    ...train.map((f) => f.rel),
    test.rel,
    ...(meta ? [meta.rel] : []),
  ]);
  let classes = CIFAR10_CLASSES;
  if (meta) {
    const names = requireFile(bytes, meta.rel, ctx.source)
      .toString("utf8")
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    if (names.length === 10) classes = names;
  }
  const parse = (list: readonly SourceFile[]) => {
    const parts = list.map((f) =>
      parseCifarBin(requireFile(bytes, f.rel, ctx.source), ctx.source.describe(f.rel)),
    );
    const n = parts.reduce((a, p) => a + p.n, 0);
    const images = new Uint8Array(n * 3072);
    const labels = new Int32Array(n);
    let at = 0;
    for (const p of parts) {
      images.set(p.images, at * 3072);
      labels.set(p.labels, at);
      at += p.n;
    }
    return { images, labels, n };
  };
  const tr = parse(train);
  const te = parse([test]);
  const trPick = pickIndices(tr.n, ctx.params.limit);
  const tePick = pickIndices(te.n, ctx.params.limit);
  const progress = ctx.progress(trPick.length + tePick.length);
  const out: Prepared = { splits: {}, skipped: [], ignored: 0 };
  out.splits.train = await fromRaw(ctx, tr.images, 3, 32, 32, tr.labels, classes, trPick, progress);
  out.splits.test = await fromRaw(ctx, te.images, 3, 32, 32, te.labels, classes, tePick, progress);
  progress.done();
  return out;
}
