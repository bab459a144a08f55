// `lastframe sample`: generated images (the last frames of generated videos) from a trained run, as a PNG grid,
// and optionally the whole videos as an animated GIF.
import { writeGif, writeGrid } from "../modality/image-grid.js";
import { lastFrames } from "../train/data.js";
import { closeRun, openRun, sampleVideos } from "../run/run.js";
import { type FlagSpecs, flagName, parseCommand, UsageError } from "./args.js";

export const sampleFlags = {
  n: { type: "int", help: "how many samples", default: 64 },
  out: { type: "string", help: "PNG grid of the generated images (last frames)", ext: ".png" },
  gif: { type: "string", help: "also write the generated videos as an animated GIF", ext: ".gif" },
  temperature: {
    type: "number",
    help: "scale of the prior's standard deviations (vqvae: of its logits)",
    default: 1,
  },
  topK: { type: "int", help: "vqvae: sample among the k most likely codes (0: all)", default: 0 },
  topP: {
    type: "number",
    help: "vqvae: sample among the most likely codes covering probability p (1: all)",
    default: 1,
  },
  pixels: {
    type: "string",
    help: "hvae: draw each pixel from the likelihood, or show its expected value",
    default: "sample",
    choices: ["sample", "mean"],
  },
  context: {
    type: "string",
    help: "hvae video: build later frames' context from the drawn pixels or the likelihood's mean",
    default: "sample",
    choices: ["sample", "mean"],
  },
  sampler: {
    type: "string",
    help: "ddpm: deterministic DDIM or ancestral DDPM",
    choices: ["ddim", "ddpm"],
  },
  steps: { type: "int", help: "ddpm: timesteps to visit (default: ddim 50, ddpm all)" },
  seed: { type: "int", help: "seed of the samples", default: 0 },
  batch: { type: "int", help: "samples generated at once", default: 64 },
  scale: { type: "int", help: "upscale each image by this factor in the outputs", default: 2 },
} satisfies FlagSpecs;

export async function sampleCommand(argv: string[]): Promise<number> {
  const f = parseCommand(argv, {
    name: "sample",
    usage: "runs/NAME --out grid.png [options]",
    summary: "Sample images from a trained run (its EMA weights).",
    flags: sampleFlags,
  });
  if (!f) return 0;
  if (f._.length !== 1)
    throw new UsageError(`Expected one run folder for 'lastframe sample' but received ${f._.length}`);
  if (!f.out) throw new UsageError("Missing --out: the PNG grid to write, e.g. --out samples.png");
  const run = await openRun(f._[0]!);
  try {
    const settings = ["temperature", "topK", "topP", "pixels", "context", "sampler", "steps"] as const;
    const unused = settings.filter((k) => f.given.has(k) && !run.family.sampling.includes(k));
    const list = (keys: readonly string[]) => keys.map(flagName).join(" and ");
    if (unused.length)
      throw new UsageError(
        `${list(unused)} ${unused.length > 1 ? "do" : "does"} not apply to ${f._[0]}: its model is ${run.config.model}, ` +
          `whose sampling takes ${list(run.family.sampling)}`,
      );
    const t0 = performance.now();
    const { frames, shape } = sampleVideos(run, f.n, {
      temperature: f.temperature,
      topK: f.topK,
      topP: f.topP,
      pixels: f.pixels as "sample" | "mean",
      context: f.context as "sample" | "mean",
      sampler: f.sampler as "ddim" | "ddpm" | undefined,
      steps: f.steps,
      seed: f.seed,
      batch: f.batch,
    });
    const ms = performance.now() - t0;
    await writeGrid(
      f.out,
      lastFrames(frames, shape),
      { n: shape.n, c: shape.c, h: shape.h, w: shape.w },
      { scale: f.scale },
    );
    if (f.gif) await writeGif(f.gif, frames, shape, { scale: f.scale, holdLastMs: 1000 });
    console.error(
      `lastframe sample: ${shape.n} samples (T = ${shape.t}) from ${run.checkpoint} in ${(ms / 1000).toFixed(1)} s → ${f.out}${f.gif ? ` and ${f.gif}` : ""}`,
    );
  } finally {
    closeRun(run);
  }
  return 0;
}
