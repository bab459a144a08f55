// The idx format of MNIST and Fashion-MNIST: magic 0x00 0x00 <type> <ndims>, ndims big-endian uint32
// dimensions, then the values. Only type 0x08 (unsigned byte) is used by these data sets and supported here.
// Files may be gzip-compressed (detected by content). A dataset folder holds train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each optionally .gz; the
// "train-images.idx3-ubyte" spelling is accepted too).

import fs from "node:fs";
import zlib from "node:zlib";
import { promisify } from "node:util";
import { DataError } from "../errors.js";
import {
  dirOf,
  fromRaw,
  pickIndices,
  readFiles,
  requireFile,
  type PrepareContext,
  type Prepared,
} from "./common.js";
import { isGzip } from "./tar.js";
import type { SourceFile } from "./source.js";

const gunzip = promisify(zlib.gunzip);

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = {
  0x08: "unsigned byte",
  0x09: "signed byte",
  0x0b: "short",
  0x0c: "int",
  0x0d: "float",
  0x0e: "double",
};

/** Parses idx bytes (already decompressed); `name` is used in error messages. */
export function parseIdx(buf: Uint8Array, name: string): IdxArray {
  if (buf.length < 4) throw new DataError(`${name} is not an idx file: only ${buf.length} bytes`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    const hex = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new DataError(`${name} is not an idx file: bad magic number ${hex} (expected 00 00 08 <ndims>)`);
  }
  const type = buf[2]!;
  const ndims = buf[3]!;
  if (type !== 0x08) {
    const what = TYPE_NAMES[type] ? `${TYPE_NAMES[type]} values` : `unknown type 0x${type.toString(16)}`;
    throw new DataError(`${name}: idx ${what} are not supported (only unsigned byte, type 0x08)`);
  }
  if (ndims < 1 || ndims > 4)
    throw new DataError(`${name}: idx header has ${ndims} dimensions (expected 1 to 4)`);
  const headerLen = 4 + 4 * ndims;
  if (buf.length < headerLen) throw new DataError(`${name}: idx header truncated (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = buf.length - headerLen;
  if (actual !== expected) {
    throw new DataError(
      `${name}: idx header says ${dims.join("x")} = ${expected} values but the file holds ${actual} ` +
        `(${actual < expected ? "truncated" : "trailing bytes"})`,
    );
  }
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + headerLen, expected) };
}

/** Decompresses when gzip, then parses. */
async function decodeIdx(bytes: Buffer, name: string): Promise<IdxArray> {
  let buf: Uint8Array = bytes;
  if (isGzip(bytes)) {
    try {
      buf = await gunzip(bytes);
    } catch (e) {
      throw new DataError(`${name}: corrupt gzip data (${(e as Error).message})`, { cause: e });
    }
  }
  return parseIdx(buf, name);
}

/** Reads an idx file (raw or gzip) from disk. */
export async function readIdx(file: string): Promise<IdxArray> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    throw new DataError(`Cannot read idx file ${file}: ${(e as Error).message}`, { cause: e });
  }
  return decodeIdx(bytes, file);
}

const IDX_RE = /(^|\/)(train|t10k)-(images|labels)[-.](idx[13])-ubyte(\.gz)?$/;

/** The directory (relative path, "" for the root) holding train-images-idx3-ubyte, or null. */
export function findIdxRoot(files: readonly SourceFile[]): string | null {
  for (const f of files) {
    const m = IDX_RE.exec(f.rel);
    if (m && m[2] === "train" && m[3] === "images") return dirOf(f.rel);
  }
  return null;
}

export const MNIST_CLASSES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
export const FASHION_MNIST_CLASSES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];

export async function prepareIdx(
  ctx: PrepareContext,
  files: readonly SourceFile[],
  root: string,
  classes: string[],
): Promise<Prepared> {
  const find = (split: string, kind: string): string => {
    const hit = files.find((f) => {
      const m = IDX_RE.exec(f.rel);
      return m !== null && m[2] === split && m[3] === kind && dirOf(f.rel) === root;
    });
    if (!hit) {
      throw new DataError(
        `${ctx.source.describe(root || ".")}: no ${split}-${kind}-idx${kind === "images" ? 3 : 1}-ubyte[.gz] file`,
      );
    }
    return hit.rel;
  };
  const rels = {
    train: [find("train", "images"), find("train", "labels")] as const,
    test: [find("t10k", "images"), find("t10k", "labels")] as const,
  };
  const bytes = await readFiles(ctx.source, [...rels.train, ...rels.test]);
  const parsed: Record<"train" | "test", { images: IdxArray; labels: IdxArray; pick: number[] }> =
    {} as never;
  let total = 0;
  for (const split of ["train", "test"] as const) {
    const [ir, lr] = rels[split];
    const iname = ctx.source.describe(ir);
    const lname = ctx.source.describe(lr);
    const images = await decodeIdx(requireFile(bytes, ir, ctx.source), iname);
    const labels = await decodeIdx(requireFile(bytes, lr, ctx.source), lname);
    if (images.dims.length !== 3)
      throw new DataError(`${iname}: expected 3 dimensions (n, h, w), got ${images.dims.length}`);
    if (labels.dims.length !== 1)
      throw new DataError(`${lname}: expected 1 dimension, got ${labels.dims.length}`);
    if (images.dims[0] !== labels.dims[0]) {
      throw new DataError(
        `${iname} holds ${images.dims[0]} images but ${lname} holds ${labels.dims[0]} labels`,
      );
    }
    const pick = pickIndices(images.dims[0]!, ctx.params.limit);
    total += pick.length;
    parsed[split] = { images, labels, pick };
  }
  const progress = ctx.progress(total);
  const out: Prepared = { splits: {}, skipped: [], ignored: 0 };
  for (const split of ["train", "test"] as const) {
    const { images, labels, pick } = parsed[split];
    const lab = Int32Array.from(labels.data);
    let maxLabel = 0;
    for (const v of lab) if (v > maxLabel) maxLabel = v;
    const cls = maxLabel < classes.length ? classes : null;
    out.splits[split] = await fromRaw(
      ctx,
      images.data,
      1,
      images.dims[1]!,
      images.dims[2]!,
      lab,
      cls,
      pick,
      progress,
    );
  }
  progress.done();
  return out;
}
