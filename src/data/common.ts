// Helpers shared by the format readers: preparation parameters, subset selection, and turning in-memory raw
// arrays (idx, CIFAR binary) into ImageSets at the requested size and channel count.

import { DataError } from "../errors.js";
import { chwToHwc, resampleInto, withDecodeTuning, type DecodeSpec } from "./decode.js";
import { TaskPool, type Source } from "./source.js";
import type { Progress } from "./progress.js";
import type { ImageSet, SplitName } from "./types.js";

export interface PrepareParams {
  /** Target [h, w]; undefined keeps the format's native size. */
  size: [number, number] | undefined;
  channels: 1 | 3 | undefined;
  /** Max images per split (evenly spread over the split), or undefined for all. */
  limit: number | undefined;
  skipCorrupt: boolean;
  fit: DecodeSpec["fit"];
  kernel: DecodeSpec["kernel"];
  /** Image folders without train/test sub-folders: fraction of images held out as test (by path hash). */
  testFraction: number;
  concurrency: number;
}

export interface PrepareContext {
  source: Source;
  params: PrepareParams;
  /** Dataset name, for progress labels and class-name defaults. */
  name: string;
  /** Creates the progress reporter once the total is known. */
  progress(total: number): Progress;
  log(message: string): void;
}

export interface Prepared {
  splits: Partial<Record<SplitName, ImageSet>>;
  skipped: string[];
  ignored: number;
}

/** `limit` indices spread evenly over 0..count-1 (all of them when limit is absent or >= count). */
export function pickIndices(count: number, limit: number | undefined): number[] {
  const k = limit === undefined ? count : Math.min(limit, count);
  const out = new Array<number>(k);
  for (let i = 0; i < k; i++) out[i] = Math.floor((i * count) / k);
  return out;
}

export function emptySet(
  c: number,
  h: number,
  w: number,
  classes: string[] | null,
  labelled: boolean,
): ImageSet {
  return { images: new Uint8Array(0), n: 0, c, h, w, labels: labelled ? new Int32Array(0) : null, classes };
}

/**
 * Builds an ImageSet from n images stored CHW in `images` (c0 x h0 x w0 each), taking `pick` and converting to
 * the requested size/channels (with sharp) when they differ from the stored ones.
 */
export async function fromRaw(
  ctx: PrepareContext,
  src: Uint8Array,
  c0: 1 | 3,
  h0: number,
  w0: number,
  labels: Int32Array | null,
  classes: string[] | null,
  pick: number[],
  progress: Progress,
): Promise<ImageSet> {
  const { size, channels, fit, kernel, concurrency } = ctx.params;
  const h = size?.[0] ?? h0;
  const w = size?.[1] ?? w0;
  const c = channels ?? c0;
  const n = pick.length;
  const per0 = c0 * h0 * w0;
  const outLabels = labels ? new Int32Array(n) : null;
  if (labels && outLabels) for (let i = 0; i < n; i++) outLabels[i] = labels[pick[i]!]!;
  if (h === h0 && w === w0 && c === c0) {
    let images: Uint8Array;
    const all = n === src.length / per0 && pick.every((v, i) => v === i);
    // A plain Uint8Array owning its memory (never a Buffer, nor a view into a larger file buffer).
    if (all && src.byteOffset === 0 && src.byteLength === src.buffer.byteLength)
      images = new Uint8Array(src.buffer);
    else if (all) images = new Uint8Array(src);
    else {
      images = new Uint8Array(n * per0);
      for (let i = 0; i < n; i++) images.set(src.subarray(pick[i]! * per0, (pick[i]! + 1) * per0), i * per0);
    }
    progress.tick(n);
    return { images, n, c, h, w, labels: outLabels, classes };
  }
  const images = new Uint8Array(n * c * h * w);
  const spec: DecodeSpec = { h, w, c, fit, kernel, autoOrient: false };
  await withDecodeTuning(async () => {
    const pool = new TaskPool(concurrency);
    for (let i = 0; i < n; i++) {
      const hwc = chwToHwc(src, pick[i]! * per0, h0 * w0, c0);
      const started = await pool.run(async () => {
        await resampleInto(hwc, h0, w0, c0, spec, images, i);
        progress.tick();
      });
      if (!started) break;
    }
    await pool.drain();
  });
  return { images, n, c, h, w, labels: outLabels, classes };
}

/** Reads whole files from a source into memory (small metadata/binary files). */
export async function readFiles(source: Source, rels: readonly string[]): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  await source.readEach(
    rels,
    async (rel, data) => {
      out.set(rel, data);
    },
    4,
  );
  return out;
}

/** 32-bit FNV-1a of some bytes: a cheap, stable hash for splitting data sets deterministically. */
export function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

export function dirOf(rel: string): string {
  const i = rel.lastIndexOf("/");
  return i < 0 ? "" : rel.slice(0, i);
}

export function baseOf(rel: string): string {
  return rel.slice(rel.lastIndexOf("/") + 1);
}

export function requireFile(files: Map<string, Buffer>, rel: string, source: Source): Buffer {
  const b = files.get(rel);
  if (!b) throw new DataError(`${source.describe(rel)} could not be read`);
  return b;
}
