// Image decoding and resampling with sharp (libvips), writing straight into a preallocated NCHW uint8 array.
//
// Pipeline per image: decode (failing on truncated data and on decoder warnings) -> optional EXIF auto-orientation -> optional crop ->
// resize to h x w (fit "cover" = scale then centre-crop, "contain" = letterbox on black, "fill" = stretch) ->
// alpha flattened onto black -> sRGB HWC bytes -> copied as 3 CHW planes, or as 1 luma plane (ITU-R 601 weights
// on the sRGB values, like PIL's convert("L") and torchvision's Grayscale).
// Decodes run through a small promise pool (sharp itself works on libuv threads), with libvips' per-image
// threading and operation cache turned off while preparing: both only add overhead for many small images.

import { crc32 } from "node:zlib";
import sharp from "sharp";
import { DataError, oneLine } from "../errors.js";

export interface Crop {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface DecodeSpec {
  h: number;
  w: number;
  c: 1 | 3;
  crop?: Crop;
  fit: "cover" | "contain" | "fill";
  kernel: "nearest" | "linear" | "cubic" | "mitchell" | "lanczos2" | "lanczos3";
  autoOrient: boolean;
}

/** Copies one HWC image into `dst` at `offset` as C planes of H*W (the only per-pixel loop, one pass). */
function hwcToChw(src: Uint8Array, dst: Uint8Array, offset: number, hw: number, c: number): void {
  if (c === 1) {
    dst.set(src.subarray(0, hw), offset);
    return;
  }
  if (c === 3) {
    const r = offset;
    const g = offset + hw;
    const b = offset + 2 * hw;
    for (let p = 0, q = 0; p < hw; p++, q += 3) {
      dst[r + p] = src[q]!;
      dst[g + p] = src[q + 1]!;
      dst[b + p] = src[q + 2]!;
    }
    return;
  }
  for (let ch = 0; ch < c; ch++) {
    const base = offset + ch * hw;
    for (let p = 0; p < hw; p++) dst[base + p] = src[p * c + ch]!;
  }
}

/** The inverse of hwcToChw for one image: CHW planes at `offset` to a new HWC buffer. */
export function chwToHwc(src: Uint8Array, offset: number, hw: number, c: number): Buffer {
  const out = Buffer.allocUnsafe(hw * c);
  if (c === 1) {
    out.set(src.subarray(offset, offset + hw));
    return out;
  }
  for (let ch = 0; ch < c; ch++) {
    const base = offset + ch * hw;
    for (let p = 0; p < hw; p++) out[p * c + ch] = src[base + p]!;
  }
  return out;
}

function finish(img: sharp.Sharp, spec: DecodeSpec): sharp.Sharp {
  if (spec.crop) img = img.extract(spec.crop);
  img = img.resize(spec.w, spec.h, {
    fit: spec.fit,
    kernel: spec.kernel,
    position: "centre",
    background: { r: 0, g: 0, b: 0, alpha: 1 },
    fastShrinkOnLoad: false,
  });
  // Always sRGB here; 1-channel output is made from it by rgbToLuma (PIL's "L" weights).
  return img
    .flatten({ background: { r: 0, g: 0, b: 0 } })
    .toColourspace("srgb")
    .raw();
}

async function run(img: sharp.Sharp, spec: DecodeSpec): Promise<Buffer> {
  const { data, info } = await finish(img, spec).toBuffer({ resolveWithObject: true });
  if (info.width !== spec.w || info.height !== spec.h || info.channels !== 3) {
    throw new Error(
      `decoded to ${info.width}x${info.height}x${info.channels}, expected ${spec.w}x${spec.h}x3`,
    );
  }
  return data;
}

/** Writes RGB (HWC) as one luma plane at `offset`: ITU-R 601 weights in 16-bit fixed point, as PIL's convert("L"). */
function rgbToLuma(src: Uint8Array, dst: Uint8Array, offset: number, hw: number): void {
  for (let p = 0, q = 0; p < hw; p++, q += 3) {
    dst[offset + p] = (src[q]! * 19595 + src[q + 1]! * 38470 + src[q + 2]! * 7471 + 0x8000) >>> 16;
  }
}

function store(rgb: Uint8Array, spec: DecodeSpec, out: Uint8Array, index: number): void {
  const hw = spec.h * spec.w;
  if (spec.c === 1) rgbToLuma(rgb, out, index * hw, hw);
  else hwcToChw(rgb, out, index * hw * 3, hw, 3);
}

/** libvips reports one line per failing layer; the CLI prints a single line, so they are joined. */
function unreadable(name: string, e: unknown): DataError {
  return new DataError(`Corrupt or unreadable image ${name}: ${oneLine((e as Error).message)}`, { cause: e });
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Why a PNG's chunk structure is incomplete, or null when every chunk up to IEND is whole with a good CRC.
 * libspng decodes a PNG cut inside its last chunks (IDAT's CRC, IEND) without an error or a warning, so a
 * truncated file would otherwise enter a data set silently.
 */
function pngDefect(data: Buffer): string | null {
  let at = PNG_SIGNATURE.length;
  while (at + 12 <= data.length) {
    const len = data.readUInt32BE(at);
    const type = data.toString("latin1", at + 4, at + 8);
    const end = at + 12 + len;
    if (end > data.length) return `truncated inside its ${type} chunk (${data.length} bytes)`;
    if (crc32(data.subarray(at + 4, end - 4)) !== data.readUInt32BE(end - 4))
      return `bad CRC in its ${type} chunk`;
    if (type === "IEND") return null;
    at = end;
  }
  return `truncated: no IEND chunk in its ${data.length} bytes`;
}

/**
 * Decodes an encoded image (PNG, JPEG, WebP, GIF, TIFF, AVIF) into `out` at image slot `index` (CHW).
 * Throws a DataError naming `name` when the bytes are not a readable image.
 */
export async function decodeInto(
  data: Buffer,
  name: string,
  spec: DecodeSpec,
  out: Uint8Array,
  index: number,
): Promise<void> {
  let hwc: Buffer;
  const defect = data.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE) ? pngDefect(data) : null;
  if (defect !== null) throw new DataError(`Corrupt or unreadable image ${name}: ${defect}`);
  try {
    hwc = await run(sharp(data, { failOn: "warning", autoOrient: spec.autoOrient }), spec);
  } catch (e) {
    throw unreadable(name, e);
  }
  store(hwc, spec, out, index);
}

/**
 * Resamples one raw image (HWC uint8 with `c` channels) to `spec` and writes it into `out` at slot `index`.
 * Used to resize or change the channels of idx and CIFAR binary data.
 */
export async function resampleInto(
  hwc: Buffer,
  h: number,
  w: number,
  c: 1 | 3,
  spec: DecodeSpec,
  out: Uint8Array,
  index: number,
): Promise<void> {
  store(await run(sharp(hwc, { raw: { width: w, height: h, channels: c } }), spec), spec, out, index);
}

/** Reads width, height and channel count (alpha not counted) from an encoded image's header. */
export async function probeImage(data: Buffer, name: string): Promise<{ w: number; h: number; c: 1 | 3 }> {
  try {
    const m = await sharp(data, { autoOrient: true }).metadata();
    const w = m.autoOrient?.width ?? m.width;
    const h = m.autoOrient?.height ?? m.height;
    if (!w || !h) throw new Error("no dimensions in header");
    const colour = (m.channels ?? 3) - (m.hasAlpha ? 1 : 0);
    return { w, h, c: colour >= 3 ? 3 : 1 };
  } catch (e) {
    throw unreadable(name, e);
  }
}

/** Runs `fn` with libvips tuned for many small decodes, restoring the previous settings afterwards. */
export async function withDecodeTuning<T>(fn: () => Promise<T>): Promise<T> {
  const prevConcurrency = sharp.concurrency();
  const prevCache = sharp.cache() as sharp.CacheResult;
  sharp.concurrency(1);
  sharp.cache(false);
  try {
    return await fn();
  } finally {
    sharp.concurrency(prevConcurrency);
    sharp.cache({ memory: prevCache.memory.max, files: prevCache.files.max, items: prevCache.items.max });
  }
}
