/**
 * Image files out: PNG grids of images, PNG grids of videos (one row per video) and animated GIFs that play
 * N videos side by side — what training writes as samples and what reports and the CLI show. It sits at the
 * modality level (below train/, which writes sample grids) rather than in report/, which only renders.
 *
 * Everything works on plain `Uint8Array`s in NCHW (images) or NTCHW (videos) layout with 1 (grey)
 * or 3 (RGB) channels, so this module has no dependency on the tensor layer. Encoding is done by
 * sharp (libvips + libspng / cgif), which is native and fast. File writes are atomic: the bytes go
 * to a temporary file in the destination folder which is then renamed over the target.
 */
import sharp from "sharp";
import { ArgumentError } from "../errors.js";
import { writeFileAtomicAsync } from "../util/atomic.js";
import {
  byteValue,
  fail,
  nonEmptyString,
  nonNegativeInt,
  nonNegativeNumber,
  positiveInt,
  positiveNumber,
} from "../util/validate.js";

/** Shape of an NCHW uint8 image batch. */
export interface ImageShape {
  n: number;
  c: number;
  h: number;
  w: number;
}

/** Shape of an NTCHW uint8 video batch (N videos of T frames). */
export interface VideoShape {
  n: number;
  t: number;
  c: number;
  h: number;
  w: number;
}

/** Padding colour: a grey level, or an RGB triple (which makes the output RGB). */
export type PadValue = number | readonly [number, number, number];

/** Layout options shared by every grid. `pad` and tile sizes are in output pixels. */
export interface LayoutOptions {
  /** Pixels between tiles and around the border (default 2). */
  pad?: number;
  /** Colour of the padding (default 255, white). */
  padValue?: PadValue;
  /** Integer nearest-neighbour upscaling factor applied to each image (default 1). */
  scale?: number;
}

export interface GridOptions extends LayoutOptions {
  /** Images per row (default ceil(sqrt(n)); clamped to n). */
  cols?: number;
}

export type VideoGridOptions = LayoutOptions;

export interface GifOptions extends LayoutOptions {
  /** Frames per second (default 8). GIF delays have 10 ms resolution and browsers treat delays
   * under 20 ms as 100 ms, so the per-frame delay is rounded to 10 ms and at least 20 ms. */
  fps?: number;
  /** Videos per row in each animation frame (default ceil(sqrt(n)); clamped to n). */
  cols?: number;
  /** Number of times to play; 0 (default) loops forever. */
  loop?: number;
  /** Extra milliseconds to show the last frame (the clean image) for (default 0). */
  holdLastMs?: number;
  /** Quantiser effort, 1 (fastest, default) to 10 (slowest, slightly better palettes). */
  effort?: number;
  /** Floyd-Steinberg dithering strength in [0, 1] (default 1). */
  dither?: number;
}

/** A raw interleaved (HWC) 8-bit image. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

// ---------------------------------------------------------------------------------------------
// Validation

const MAX_OUTPUT_BYTES = 1 << 30;

function checkChannels(c: unknown): 1 | 3 {
  if (c !== 1 && c !== 3) fail("1 or 3", "c", c);
  return c;
}

function checkImageShape(shape: unknown): ImageShape & { c: 1 | 3 } {
  if (typeof shape !== "object" || shape === null) fail("object {n, c, h, w}", "shape", shape);
  const s = shape as Record<string, unknown>;
  const n = positiveInt(s.n, "n");
  const c = checkChannels(s.c);
  const h = positiveInt(s.h, "h");
  const w = positiveInt(s.w, "w");
  return { n, c, h, w };
}

function checkVideoShape(shape: unknown): VideoShape & { c: 1 | 3 } {
  if (typeof shape !== "object" || shape === null) fail("object {n, t, c, h, w}", "shape", shape);
  const s = shape as Record<string, unknown>;
  const n = positiveInt(s.n, "n");
  const t = positiveInt(s.t, "t");
  const c = checkChannels(s.c);
  const h = positiveInt(s.h, "h");
  const w = positiveInt(s.w, "w");
  return { n, t, c, h, w };
}

function checkBuffer(data: unknown, name: string, dims: Record<string, number>): Uint8Array {
  if (!(data instanceof Uint8Array)) fail("Uint8Array", name, data);
  const keys = Object.keys(dims);
  const expected = keys.reduce((p, k) => p * dims[k]!, 1);
  if (data.length !== expected) {
    throw new ArgumentError(
      `Expected ${name} to have length ${expected} (${keys.join("*")} = ${keys.map((k) => dims[k]).join("*")}) ` +
        `but received length ${data.length}`,
    );
  }
  return data;
}

function checkPadValue(v: unknown): readonly [number, number, number] | number {
  if (typeof v === "number") return byteValue(v, "padValue");
  if (
    Array.isArray(v) &&
    v.length === 3 &&
    v.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= 255)
  ) {
    return [v[0], v[1], v[2]] as const;
  }
  return fail("integer in [0, 255] or [r, g, b] triple", "padValue", v);
}

interface Layout {
  pad: number;
  pad3: readonly [number, number, number];
  colourPad: boolean;
  scale: number;
}

function checkLayout(opts: LayoutOptions | undefined): Layout {
  if (opts !== undefined && (typeof opts !== "object" || opts === null))
    fail("options object", "options", opts);
  const o = opts ?? {};
  const pad = o.pad === undefined ? 2 : nonNegativeInt(o.pad, "pad");
  const scale = o.scale === undefined ? 1 : positiveInt(o.scale, "scale");
  const pv = checkPadValue(o.padValue ?? 255);
  const pad3: readonly [number, number, number] = typeof pv === "number" ? [pv, pv, pv] : pv;
  const colourPad = pad3[0] !== pad3[1] || pad3[1] !== pad3[2];
  return { pad, pad3, colourPad, scale };
}

function checkCols(cols: unknown, n: number): number {
  if (cols === undefined) return Math.ceil(Math.sqrt(n));
  return Math.min(positiveInt(cols, "cols"), n);
}

// ---------------------------------------------------------------------------------------------
// Composition

interface Tile {
  /** Offset of the tile's CHW block in the source buffer. */
  offset: number;
  row: number;
  col: number;
}

/**
 * Compose CHW tiles from `src` into one interleaved canvas of `rows` x `cols` cells, with `pad`
 * pixels between cells and around the border, each tile upscaled by `scale` (nearest neighbour).
 */
function compose(
  src: Uint8Array,
  tiles: readonly Tile[],
  rows: number,
  cols: number,
  c: 1 | 3,
  h: number,
  w: number,
  layout: Layout,
): RawImage {
  const { pad, pad3, scale } = layout;
  const oc: 1 | 3 = c === 3 || layout.colourPad ? 3 : 1;
  const tileW = w * scale;
  const tileH = h * scale;
  const width = cols * tileW + (cols + 1) * pad;
  const height = rows * tileH + (rows + 1) * pad;
  if (width * height * oc > MAX_OUTPUT_BYTES) {
    throw new ArgumentError(
      `Grid of ${width}x${height} pixels is too large (limit ${MAX_OUTPUT_BYTES} bytes)`,
    );
  }
  const out = new Uint8Array(width * height * oc);
  if (oc === 1) {
    out.fill(pad3[0]);
  } else {
    out[0] = pad3[0];
    out[1] = pad3[1];
    out[2] = pad3[2];
    for (let filled = 3; filled < out.length; filled *= 2)
      out.copyWithin(filled, 0, Math.min(filled, out.length - filled));
  }
  const plane = h * w;
  const rowBuf = new Uint8Array(tileW * oc);
  for (const tile of tiles) {
    const x0 = pad + tile.col * (tileW + pad);
    const y0 = pad + tile.row * (tileH + pad);
    for (let y = 0; y < h; y++) {
      for (let ch = 0; ch < oc; ch++) {
        const base = tile.offset + (c === 1 ? 0 : ch * plane) + y * w;
        if (scale === 1) {
          for (let x = 0; x < w; x++) rowBuf[x * oc + ch] = src[base + x]!;
        } else {
          for (let x = 0; x < w; x++) {
            const v = src[base + x]!;
            let p = x * scale * oc + ch;
            for (let s = 0; s < scale; s++, p += oc) rowBuf[p] = v;
          }
        }
      }
      for (let sy = 0; sy < scale; sy++) out.set(rowBuf, ((y0 + y * scale + sy) * width + x0) * oc);
    }
  }
  return { data: out, width, height, channels: oc };
}

/** Lay out an NCHW batch as a grid (row-major, `cols` per row) and return the raw HWC canvas. */
function gridImage(images: Uint8Array, shape: ImageShape, opts?: GridOptions): RawImage {
  const { n, c, h, w } = checkImageShape(shape);
  const data = checkBuffer(images, "images", { n, c, h, w });
  const layout = checkLayout(opts);
  const cols = checkCols(opts?.cols, n);
  const rows = Math.ceil(n / cols);
  const tiles: Tile[] = [];
  for (let i = 0; i < n; i++) tiles.push({ offset: i * c * h * w, row: Math.floor(i / cols), col: i % cols });
  return compose(data, tiles, rows, cols, c, h, w, layout);
}

/** Lay out an NTCHW batch with one row per video and one column per frame. */
function videoGridImage(frames: Uint8Array, shape: VideoShape, opts?: VideoGridOptions): RawImage {
  const { n, t, c, h, w } = checkVideoShape(shape);
  const data = checkBuffer(frames, "frames", { n, t, c, h, w });
  const layout = checkLayout(opts);
  const tiles: Tile[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < t; j++) tiles.push({ offset: (i * t + j) * c * h * w, row: i, col: j });
  }
  return compose(data, tiles, n, t, c, h, w, layout);
}

// ---------------------------------------------------------------------------------------------
// Encoding

function rawPng(img: RawImage): Promise<Buffer> {
  let s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } });
  if (img.channels === 1) s = s.toColourspace("b-w");
  return s.png({ compressionLevel: 6 }).toBuffer();
}

/** Encode an NCHW batch as a PNG grid (greyscale PNG for c = 1, RGB for c = 3). */
export async function encodePng(images: Uint8Array, shape: ImageShape, opts?: GridOptions): Promise<Buffer> {
  return rawPng(gridImage(images, shape, opts));
}

/** Encode an NTCHW batch as a PNG with one row per video and one column per frame. */
export async function encodeVideoGrid(
  frames: Uint8Array,
  shape: VideoShape,
  opts?: VideoGridOptions,
): Promise<Buffer> {
  return rawPng(videoGridImage(frames, shape, opts));
}

/** Per-frame delay in ms for a frame rate, honouring GIF's 10 ms resolution and the 20 ms floor
 * below which browsers slow the animation down. */
export function gifFrameDelayMs(fps: number): number {
  positiveNumber(fps, "fps");
  return Math.max(20, Math.round(100 / fps) * 10);
}

/**
 * Encode an NTCHW batch as an animated GIF: animation frame j shows frame j of all N videos
 * tiled in a grid of `cols` columns.
 */
export async function encodeGif(frames: Uint8Array, shape: VideoShape, opts?: GifOptions): Promise<Buffer> {
  const { n, t, c, h, w } = checkVideoShape(shape);
  const data = checkBuffer(frames, "frames", { n, t, c, h, w });
  const layout = checkLayout(opts);
  const cols = checkCols(opts?.cols, n);
  const fps = opts?.fps === undefined ? 8 : positiveNumber(opts.fps, "fps");
  const loop = opts?.loop === undefined ? 0 : nonNegativeInt(opts.loop, "loop");
  if (loop > 65535) fail("integer in [0, 65535]", "loop", loop);
  const holdLastMs = opts?.holdLastMs === undefined ? 0 : nonNegativeNumber(opts.holdLastMs, "holdLastMs");
  const effort = opts?.effort === undefined ? 1 : positiveInt(opts.effort, "effort");
  if (effort > 10) fail("integer in [1, 10]", "effort", effort);
  const dither = opts?.dither === undefined ? 1 : nonNegativeNumber(opts.dither, "dither");
  if (dither > 1) fail("number in [0, 1]", "dither", dither);
  const rows = Math.ceil(n / cols);

  const pages: RawImage[] = [];
  for (let j = 0; j < t; j++) {
    const tiles: Tile[] = [];
    for (let i = 0; i < n; i++) {
      tiles.push({ offset: (i * t + j) * c * h * w, row: Math.floor(i / cols), col: i % cols });
    }
    pages.push(compose(data, tiles, rows, cols, c, h, w, layout));
  }
  const { width, height, channels } = pages[0]!;
  const frameBytes = width * height * channels;
  if (frameBytes * t > MAX_OUTPUT_BYTES) {
    throw new ArgumentError(`Animation of ${t} frames of ${width}x${height} pixels is too large`);
  }
  const stacked = new Uint8Array(frameBytes * t);
  pages.forEach((p, j) => stacked.set(p.data, j * frameBytes));

  const frameDelay = gifFrameDelayMs(fps);
  const delay = new Array<number>(t).fill(frameDelay);
  delay[t - 1] = Math.min(65530, Math.round((frameDelay + holdLastMs) / 10) * 10);

  return sharp(stacked, { raw: { width, height: height * t, channels, pageHeight: height } })
    .gif({ loop, delay, keepDuplicateFrames: true, effort, dither })
    .toBuffer();
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Write an NCHW batch as a PNG grid, atomically. */
export async function writeGrid(
  path: string,
  images: Uint8Array,
  shape: ImageShape,
  opts?: GridOptions,
): Promise<void> {
  nonEmptyString(path, "path");
  await writeFileAtomicAsync(path, await encodePng(images, shape, opts));
}

/** Write an NTCHW batch as a PNG (one row per video, one column per frame), atomically. */
export async function writeVideoGrid(
  path: string,
  frames: Uint8Array,
  shape: VideoShape,
  opts?: VideoGridOptions,
): Promise<void> {
  nonEmptyString(path, "path");
  await writeFileAtomicAsync(path, await encodeVideoGrid(frames, shape, opts));
}

/** Write an NTCHW batch as an animated GIF (all N videos playing at once), atomically. */
export async function writeGif(
  path: string,
  frames: Uint8Array,
  shape: VideoShape,
  opts?: GifOptions,
): Promise<void> {
  nonEmptyString(path, "path");
  await writeFileAtomicAsync(path, await encodeGif(frames, shape, opts));
}
