// `lastframe video`: look at the pseudo videos a spec makes from a data set before training on them: a PNG
// grid (one row per image, one column per frame, the image last), an optional GIF, and with --metrics the
// spec's informativeness per frame (src/video/metrics.ts) as a table or JSON.
import type { BenchCase } from "../bench/cases.js";
import { defaultSplit, loadDataset, type ImageSet } from "../data/index.js";
import { writeGif, writeVideoGrid } from "../modality/image-grid.js";
import { type Tensor, fromTyped, manualSeed, rand, randperm, tidy } from "../tensor/index.js";
import {
  type SpecMetrics,
  type VideoSpec,
  makeVideos,
  measureSpec,
  operatorNames,
  operators,
  parseSpec,
  presetNames,
} from "../video/index.js";
import { toBytes } from "../train/data.js";
import { type FlagSpecs, parseCommand, UsageError } from "./args.js";

export const videoFlags = {
  data: { type: "string", help: "data set name (mnist, fashion-mnist, cifar10, celeba64) or path" },
  spec: {
    type: "string",
    help: `preset (${presetNames.join(", ")}) or a .json spec file`,
    default: "expressive",
  },
  frames: { type: "int", help: "frames per video, T (the image is frame T)", default: 8 },
  n: { type: "int", help: "videos in the grid and the GIF", default: 8 },
  out: { type: "string", help: "PNG grid to write: one row per image, one column per frame", ext: ".png" },
  gif: { type: "string", help: "animated GIF to write: all videos playing side by side", ext: ".gif" },
  seed: { type: "int", help: "seed for the choice of images and the corruptions", default: 0 },
  split: {
    type: "string",
    help: "which split the images come from (default: test, or train for a folder without one)",
    choices: ["train", "test"],
  },
  scale: { type: "int", help: "pixel upscaling in the grid and GIF (default: 2 for images under 64 pixels)" },
  fps: { type: "number", help: "GIF frames per second", default: 3 },
  metrics: {
    type: "boolean",
    help: "measure the spec: PSNR, SSIM, diversity, higher-order gain and an SNR curve over frequencies per frame",
    default: false,
  },
  metricsImages: { type: "int", help: "images the metrics use", default: 512 },
  draws: { type: "int", help: "videos drawn per image for the diversity metric", default: 4 },
  json: { type: "boolean", help: "print the metrics as one JSON object instead of a table", default: false },
} satisfies FlagSpecs;

const USAGE =
  "--data <name|path> [--spec <preset|file.json>] [--frames T] [--n N] [--out grid.png] [--gif anim.gif] [--metrics]";

export async function videoCommand(argv: string[]): Promise<void> {
  const f = parseCommand(argv, {
    name: "video",
    usage: USAGE,
    summary: "Preview and measure pseudo videos.",
    flags: videoFlags,
    more: operatorHelp,
  });
  if (!f) return;
  if (f._.length > 0)
    throw new UsageError(`Unexpected argument ${JSON.stringify(f._[0])} for 'lastframe video'`);
  if (f.data === undefined) throw new UsageError("Expected --data <name|path> for 'lastframe video'");
  if (f.out === undefined && f.gif === undefined && !f.metrics)
    throw new UsageError("Nothing to do: give --out grid.png, --gif anim.gif or --metrics");
  for (const key of ["frames", "n", "metricsImages", "draws"] as const) positive(f[key], key);
  if (f.seed < 0) throw new UsageError(`Expected non-negative integer for --seed but received ${f.seed}`);
  if (f.scale !== undefined) positive(f.scale, "scale");
  if (!(f.fps > 0)) throw new UsageError(`Expected positive number for --fps but received ${f.fps}`);
  if (f.draws < 2) throw new UsageError(`Expected integer of at least 2 for --draws but received ${f.draws}`);

  const spec = parseSpec(f.spec, f.frames);
  const data = await loadDataset(f.data);
  // One split is enough to preview: a folder without split folders is used whole.
  const split = (f.split ?? defaultSplit(data)) as "train" | "test";
  const set = data[split];
  if (set.n === 0) throw new UsageError(`The ${split} split of ${data.name} has no images`);
  if (spec.shuffle && Math.min(set.n, f.n) < 2)
    throw new UsageError(`${spec.name} needs at least 2 images (--n ${f.n})`);

  manualSeed(f.seed);
  const order = tidy(() => randperm(set.n).toArray());
  const t0 = performance.now();
  if (f.out !== undefined || f.gif !== undefined) {
    const n = Math.min(f.n, set.n);
    const frames = tidy(() => toBytes(makeVideos(toImages(set, order.slice(0, n)), spec)));
    const shape = { n, t: spec.frames, c: set.c, h: set.h, w: set.w };
    const layout = { scale: f.scale ?? (Math.max(set.h, set.w) < 64 ? 2 : 1), pad: 2 };
    if (f.out !== undefined) await writeVideoGrid(f.out, frames, shape, layout);
    // Rows of up to 8 videos: the default square layout leaves 8 videos (the demo's) a 3 × 3 grid with a hole.
    if (f.gif !== undefined)
      await writeGif(f.gif, frames, shape, { ...layout, cols: Math.min(n, 8), fps: f.fps, holdLastMs: 1000 });
    const wrote = [f.out, f.gif].filter((p) => p !== undefined).join(" and ");
    const ms = Math.round(performance.now() - t0);
    console.error(
      `lastframe video: wrote ${wrote}: ${n} ${data.name} ${split} images × ${spec.frames} frames of ${spec.name} (${ms} ms)`,
    );
  }
  if (f.metrics) {
    const m = Math.min(f.metricsImages, set.n);
    if (m < 4)
      throw new UsageError(`The metrics need at least 4 images, but ${data.name} ${split} has ${set.n}`);
    const t1 = performance.now();
    const images = toImages(set, order.slice(0, m));
    let metrics: SpecMetrics;
    try {
      metrics = measureSpec(images, spec, { draws: f.draws });
    } finally {
      images.dispose();
    }
    const ms = Math.round(performance.now() - t1);
    if (f.json) console.log(JSON.stringify({ data: data.name, split, seed: f.seed, spec, metrics, ms }));
    else printMetrics(metrics, spec, `${data.name} ${split}`, ms);
  }
}

/** The operators a spec file can use, with their parameters. */
function operatorHelp(): string {
  const lines = ["", "Operators for spec files (src/video/spec.ts describes the format):"];
  for (const name of operatorNames) {
    const op = operators[name];
    lines.push(`  ${name.padEnd(11)} ${op.help}`);
    for (const [key, def] of Object.entries(op.params)) {
      const range = "choices" in def ? def.choices.join("|") : `${def.min}…${def.max}`;
      lines.push(`    ${key.padEnd(9)} ${def.help} [${range}] (default: ${def.default})`);
    }
  }
  lines.push("  mix         a random choice per frame (or per video) among several operators, by weight");
  return lines.join("\n");
}

function positive(v: number, key: string): void {
  if (!(v > 0))
    throw new UsageError(
      `Expected positive integer for --${key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())} but received ${v}`,
    );
}

/** The images at `indices` of a uint8 set, as floats (N, C, H, W) in [-1, 1]. */
export function toImages(set: ImageSet, indices: number[]): Tensor {
  const per = set.c * set.h * set.w;
  const bytes = new Uint8Array(indices.length * per);
  indices.forEach((i, k) => bytes.set(set.images.subarray(i * per, (i + 1) * per), k * per));
  return tidy(() => fromTyped(bytes, [indices.length, set.c, set.h, set.w]).to("float32").div(127.5).sub(1));
}

function printMetrics(m: SpecMetrics, spec: VideoSpec, source: string, ms: number): void {
  console.log(
    `${spec.name}: T = ${m.frames}, ${spec.order} order, ${m.images} ${source} images, ${m.draws} draws each (${ms} ms)`,
  );
  const head = [
    "frame",
    "PSNR dB",
    "SSIM",
    "diversity",
    "higher-order gain",
    "SNR dB by band, coarse → fine",
  ];
  const fix = (v: number | null, d: number) => (v === null ? "—" : v.toFixed(d));
  const rows = m.perFrame.map((r) => [
    r.frame === m.frames ? `${r.frame} (image)` : String(r.frame),
    fix(r.psnr, 2),
    fix(r.ssim, 3),
    fix(r.diversity, 3),
    fix(r.gain, 3),
    // Rounded to whole dB; a tiny negative SNR would print as "-0".
    r.snr.map((v) => Math.round(v) || 0).join(" "),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  // The SNR curve, wide and last, is left-aligned.
  const last = head.length - 1;
  for (const row of [head, ...rows])
    console.log(
      row
        .map((c, i) => (i === 0 || i === last ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
        .join("  ")
        .trimEnd(),
    );
  if (m.frames < 3) console.log("higher-order gain: — (needs T ≥ 3)");
  else
    console.log(
      `higher-order gain: last frame ${fix(m.gain.last, 3)}, mean over frames 3 … ${m.frames} ${fix(m.gain.mean, 3)}`,
    );
  console.log(
    "(PSNR 100 = identical. gain = 1 - MSE(all earlier frames) / MSE(previous frame) of held-out per-DCT-coefficient " +
      "linear predictors: ≈ 0 for first-order Markov chains, a little below 0 by about (t - 2) / (N / 2) from fitting " +
      "more coefficients, and clearly above 0 when earlier frames hold extra information about the image)",
  );
}

// ***** bench *****

/** Building the pseudo videos of one training batch: 64 CIFAR-sized images, T = 8. */
export function videoBenchCases(): BenchCase[] {
  return ["expressive", "noise-chain"].map((preset) => ({
    name: `video-${preset}`,
    description: `pseudo videos of 64×3×32×32 images, T = 8, ${preset}`,
    items: 64,
    setup() {
      const spec = parseSpec(preset, 8);
      const x = tidy(() => rand([64, 3, 32, 32]).mul(2).sub(1));
      return {
        step: () => tidy(() => void makeVideos(x, spec)),
        dispose: () => x.dispose(),
      };
    },
  }));
}
