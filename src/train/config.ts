// A run's configuration: everything needed to reproduce it, resolved from (lowest to highest precedence) the
// loop's defaults, the model family's per-preset training defaults, a --config JSON file and command-line flags.
// The resolved config is written to <run>/config.json; that file is itself a valid --config, and a resumed run
// must match it (nanoGPT re-imposes its model args the same way).
//
// Sections: model (family, preset, hps), data, spec + frames (the pseudo videos), train (everything that changes
// the weights) and log (intervals of evals, sample grids and checkpoints, which never change the weights: evals and
// samples run on their own RNG stream). `provenance` records where and with what it ran; it is not compared.
//
// One zod schema per section both checks (unknown keys, wrong types, ranges: an error naming the key and value)
// and gives the TypeScript type. Defaults live in trainDefaults/logDefaults/dataDefaults below, not in the
// schemas: a schema only checks, so the config that is written and fingerprinted is exactly the merged object.
// The spec is checked by its own parser (video/spec.ts), hps by the family's resolver (models/hps.ts).
import { type ImageSet, datasetNames } from "../data/index.js";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { totalmem } from "node:os";
import * as z from "zod";
import { getFamily } from "../models/registry.js";
import type { DataShape } from "../models/model.js";
import {
  ArgumentError,
  CheckpointError,
  expected,
  isNonNegativeInt,
  isPositiveInt,
  oneLine,
} from "../errors.js";
import { checked } from "../util/schema.js";
import { parseSpec, presetNames, type VideoSpec } from "../video/index.js";

const positiveInt = z.number().refine(isPositiveInt, "positive integer");
const nonNegativeInt = z.number().refine(isNonNegativeInt, "non-negative integer");
const positive = z.number().refine((v) => v > 0, "a positive number");
const nonNegative = z.number().refine((v) => v >= 0, "a non-negative number");
const within = (lo: number, hi: number) =>
  z.number().refine((v) => v >= lo && v <= hi, `a number in [${lo}, ${hi}]`);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const trainSchema = z.strictObject({
  seed: nonNegativeInt,
  batch: positiveInt,
  /** Steps of each stage (a family with stages "vqvae", "prior" trains `steps` of each unless stageSteps says). */
  steps: positiveInt,
  // 0 skips a stage: the VQ family's prior on a shared tokenizer (init) trains no VQ-VAE of its own.
  stageSteps: z.record(z.string(), nonNegativeInt, { error: "an object of stage: steps" }),
  lr: positive,
  /** The cosine schedule ends at this fraction of lr. */
  minLrFraction: within(0, 1),
  warmup: nonNegativeInt,
  gradClip: positive,
  /** Updates with a larger gradient norm are skipped and counted (VDVAE's grad_skip_threshold). */
  skipThreshold: positive,
  emaDecay: within(0, 0.999999),
  weightDecay: nonNegative,
  beta1: within(0, 0.999999),
  beta2: within(0, 0.999999),
  /** Non-finite steps in a row after which the run stops (keeping its last good checkpoint). */
  maxBadSteps: positiveInt,
  /**
   * Keep the EMA weights of the evaluation with the lowest validation last_bpd_given_true (needs data.validation)
   * in <run>/best/, and sample and evaluate those: best-checkpoint selection for runs that would overfit.
   */
  selectBest: z.boolean(),
});
export type TrainSettings = z.infer<typeof trainSchema>;

const logSchema = z.strictObject({
  /** Steps between test-set evaluations (0: only at the end of each stage). */
  evalEvery: nonNegativeInt,
  /** Test images per evaluation (the first ones of the test split). */
  evalImages: nonNegativeInt,
  /** Steps between sample grids (0: only at the end). */
  sampleEvery: nonNegativeInt,
  sampleN: positiveInt,
  temperature: nonNegative,
  checkpointEvery: nonNegativeInt,
});
export type LogSettings = z.infer<typeof logSchema>;

const dataSchema = z.strictObject({
  /** A data set name or a path (folder or archive). */
  name: z.string(),
  flip: z.boolean(),
  /** At most this many images per split (quick runs and tests), or null for all. */
  limit: z.union([z.null(), positiveInt], { error: "a positive integer or null" }),
  /** The last this many images of the train split are held out as a validation split (0: none). */
  validation: nonNegativeInt,
  /** Filled in from the data: image channels and side (0: not yet), and the border added to reach a power-of-two
   * size (-1: not yet). */
  channels: nonNegativeInt,
  size: nonNegativeInt,
  pad: z
    .number()
    .refine((v) => v === -1 || isNonNegativeInt(v), "-1 (from the data) or a non-negative integer"),
});
export type DataSettings = z.infer<typeof dataSchema>;

const initSchema = z.strictObject({
  /** A run folder (its latest checkpoint's EMA weights) or a .safetensors file. */
  from: z.string().min(1, "a run folder or .safetensors file"),
  /** Name prefixes of the tensors to take, e.g. ["vqvae."]; empty: every tensor of the source. */
  modules: z.array(z.string().min(1, "a tensor name prefix"), { error: "a list of tensor name prefixes" }),
  /** sha256 of the taken tensors (names, shapes, bytes), filled in when the run starts. */
  sha256: z.string(),
});
/** Weights to start from (init.ts): a warm start, or the VQ family's shared tokenizer. */
export type InitSettings = z.infer<typeof initSchema>;

const name = z.string({ error: "a name (string)" });
const spec = z.custom<VideoSpec>(isObject, "a pseudo-video spec (an object)");

const runConfigSchema = z.strictObject({
  model: name,
  preset: name,
  hps: z.record(z.string(), z.unknown()),
  data: dataSchema,
  spec,
  /** T: frames per pseudo video (the spec's, e.g. 1 for "none"). */
  frames: positiveInt,
  /** The data-size control: an image model trained on all T frames as separate images (same frames per step). */
  framesAsImages: z.boolean({ error: "true or false" }),
  /** Weights to start from; null: none. */
  init: z.nullable(initSchema),
  train: trainSchema,
  log: logSchema,
  provenance: z.record(z.string(), z.string()).optional(),
});
export type RunConfig = z.infer<typeof runConfigSchema>;

/** A config.json as written by any version: settings added since (at their neutral default) may be absent. */
const savedConfigSchema = runConfigSchema.partial({ framesAsImages: true, init: true }).extend({
  data: dataSchema.partial({ validation: true }),
  train: trainSchema.partial({ selectBest: true }),
});

/** What flags and --config files give: any subset of each section, data as a name, spec as a name or file. */
const runInputSchema = z.strictObject({
  model: name.optional(),
  preset: name.optional(),
  hps: runConfigSchema.shape.hps.optional(),
  data: z
    .union([z.string(), dataSchema.partial()], { error: "a data set name, a path or an object" })
    .optional(),
  spec: z
    .union([z.string(), z.custom<object>(isObject)], { error: "a spec name, a .json file or an object" })
    .optional(),
  frames: positiveInt.optional(),
  framesAsImages: runConfigSchema.shape.framesAsImages.optional(),
  init: z.nullable(initSchema.partial()).optional(),
  train: trainSchema.partial().optional(),
  log: logSchema.partial().optional(),
  provenance: z.unknown().optional(),
});
export type RunInput = z.input<typeof runInputSchema>;

export const trainDefaults: TrainSettings = {
  seed: 0,
  batch: 32,
  steps: 1000,
  stageSteps: {},
  lr: 1e-3,
  minLrFraction: 0.1,
  warmup: 100,
  gradClip: 200,
  skipThreshold: 3000,
  emaDecay: 0.999,
  weightDecay: 0.01,
  beta1: 0.9,
  beta2: 0.9,
  maxBadSteps: 20,
  selectBest: false,
};

/** Intervals of 0 are filled in from the step count: 5 evals and sample grids, 10 checkpoints. */
export const logDefaults: LogSettings = {
  evalEvery: 0,
  evalImages: 500,
  sampleEvery: 0,
  sampleN: 36,
  temperature: 1,
  checkpointEvery: 0,
};

const dataDefaults: DataSettings = {
  name: "",
  flip: false,
  limit: null,
  validation: 0,
  channels: 0,
  size: 0,
  pad: -1,
};

const sections = Object.keys(runConfigSchema.shape);

/** Reads a --config file: a run's config.json or any subset of it, checked (errors name the file). */
export function readConfigFile(path: string): RunInput {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ArgumentError(
      `Cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new ArgumentError(`Config file ${path} is not valid JSON: ${oneLine((err as Error).message)}`);
  }
  if (!isObject(v)) throw new ArgumentError(`Config file ${path} must hold a JSON object`);
  return checked(runInputSchema, v, { label: `config file ${path}` });
}

/** A run's config.json as written (by this or an earlier version), checked: a CheckpointError names file and key. */
export function readSavedConfig(path: string): z.infer<typeof savedConfigSchema> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      code ? `cannot read ${path}: ${code}` : `${path} is not valid JSON (truncated or edited?)`,
    );
  }
  const saved = checked(savedConfigSchema, v, { label: path, error: CheckpointError });
  try {
    parseSpec(saved.spec, saved.frames);
  } catch (err) {
    if (err instanceof ArgumentError) throw new CheckpointError(`${path}: ${err.message}`);
    throw err;
  }
  return saved;
}

/**
 * A run's config.json as a RunConfig: settings added after the run was made take their neutral default (what the
 * run trained with), as configDifferences treats them.
 */
export function readRunConfig(path: string): RunConfig {
  const s = readSavedConfig(path);
  return {
    ...s,
    framesAsImages: s.framesAsImages ?? false,
    init: s.init ?? null,
    data: { ...s.data, validation: s.data.validation ?? 0 },
    train: { ...s.train, selectBest: s.train.selectBest ?? false },
  };
}

/** Deep-merges run inputs, later ones winning (sections merge key by key). */
export function mergeInputs(...inputs: RunInput[]): RunInput {
  const out: Record<string, unknown> = {};
  for (const input of inputs)
    for (const [k, v] of Object.entries(input)) {
      if (v === undefined) continue;
      const prev = out[k];
      out[k] = isObject(prev) && isObject(v) && k !== "spec" ? { ...prev, ...v } : v;
    }
  return out as RunInput;
}

/**
 * Resolves everything that does not need the data. Unknown names (model, preset, data set, spec) list the valid
 * ones; unknown keys, wrong types and values out of range are errors naming the key.
 */
export function resolveRunConfig(input: RunInput): RunConfig {
  const given = checked(runInputSchema, input);
  const model = given.model ?? "hvae";
  const preset = given.preset ?? "small";
  const family = getFamily(model);
  if (!(preset in family.hps))
    throw new ArgumentError(
      `Unknown preset ${JSON.stringify(preset)} for model ${model}. Valid presets: ${Object.keys(family.hps).join(", ")}`,
    );
  const hps = family.resolve(given.hps ?? {}, preset) as Record<string, unknown>;

  const data = { ...dataDefaults, ...(typeof given.data === "string" ? { name: given.data } : given.data) };
  if (!data.name)
    throw new ArgumentError(
      `Missing data: pass --data with a data set name (${datasetNames.join(", ")}) or a path`,
    );
  if (!(datasetNames as readonly string[]).includes(data.name) && !existsSync(data.name))
    throw new ArgumentError(
      `Unknown data set ${JSON.stringify(data.name)}. Valid names: ${datasetNames.join(", ")}, or a path to a folder or archive`,
    );

  const frames =
    given.frames ?? (isObject(given.spec) && "frames" in given.spec ? Number(given.spec.frames) : 1);
  const specIn = given.spec ?? (frames === 1 ? "none" : undefined);
  if (specIn === undefined)
    throw new ArgumentError(
      `Missing spec: frames ${frames} > 1 needs --spec (${presetNames.join(", ")}, or a .json file)`,
    );
  const spec = parseSpec(specIn, frames);

  const train = { ...trainDefaults, ...family.trainDefaults?.[preset], ...given.train };
  if (train.selectBest && data.validation === 0)
    throw new ArgumentError(
      "train.selectBest needs a validation split: set data.validation (e.g. --validation 200)",
    );
  const log = { ...logDefaults, ...given.log };
  const auto = (every: number, parts: number) => every || Math.max(1, Math.ceil(train.steps / parts));
  log.evalEvery = auto(log.evalEvery, 5);
  log.sampleEvery = auto(log.sampleEvery, 5);
  log.checkpointEvery = auto(log.checkpointEvery, 10);
  const init = given.init ? { from: "", modules: [], sha256: "", ...given.init } : null;

  // The merged sections: what the input left out came from defaults, which the same schemas hold to.
  const cfg = checked(runConfigSchema, {
    model,
    preset,
    hps,
    data,
    spec,
    frames: spec.frames,
    framesAsImages: given.framesAsImages ?? false,
    init,
    train,
    log,
  });
  if (cfg.init) cfg.init.from = resolve(cfg.init.from); // a resumed run finds it from any working directory
  return cfg;
}

/** Fills in the data section from the loaded images; given values must agree. Returns the model's data shape. */
export function completeWithData(cfg: RunConfig, set: ImageSet): DataShape {
  if (set.h !== set.w)
    throw new ArgumentError(`lastframe trains on square images, but ${cfg.data.name} has ${set.h}×${set.w}`);
  let size = 1;
  while (size < set.h) size *= 2;
  const pad = cfg.data.pad >= 0 ? cfg.data.pad : (size - set.h) / 2;
  if (!Number.isInteger(pad))
    throw new ArgumentError(`Cannot pad ${set.h}×${set.h} images evenly to ${size}×${size}; set data.pad`);
  for (const [k, v] of [
    ["channels", set.c],
    ["size", set.h],
  ] as const)
    if (cfg.data[k] !== 0 && cfg.data[k] !== v)
      throw expected(`${v} (what ${cfg.data.name} holds)`, `data.${k}`, cfg.data[k]);
  cfg.data.channels = set.c;
  cfg.data.size = set.h;
  cfg.data.pad = pad;
  const shape = modelShape(cfg);
  checkMemory(cfg, shape);
  return shape;
}

// Training memory grows with the input values of a batch (activations, their gradients, the pseudo videos). The
// tiny HVAE measured 23 KiB per value (23.7 GB at batch 1 × 1000 frames × 32×32, #27); a fifth of that is a
// lower bound that refuses only runs that cannot fit, before any of it is allocated.
const BYTES_PER_INPUT_VALUE = 4 << 10;

function checkMemory(cfg: RunConfig, shape: DataShape): void {
  const { batch } = cfg.train;
  const pixels = `${shape.channels}×${shape.size}×${shape.size}`;
  const need = batch * cfg.frames * shape.channels * shape.size ** 2 * BYTES_PER_INPUT_VALUE;
  const gb = (bytes: number) => Math.ceil(bytes / 1e9);
  if (need > totalmem())
    throw new ArgumentError(
      `batch ${batch} × ${cfg.frames} frames × ${pixels} pixels needs at least ${gb(need)} GB to train (about ` +
        `${BYTES_PER_INPUT_VALUE >> 10} KiB per input value), more than this machine's ${gb(totalmem())} GB: ` +
        "lower --batch or --frames",
    );
}

/** The shape the model sees: padded side, and T = 1 for image models and the frames-as-images control. */
export function modelShape(cfg: RunConfig): DataShape {
  return {
    channels: cfg.data.channels,
    size: cfg.data.size + 2 * cfg.data.pad,
    frames: cfg.framesAsImages ? 1 : cfg.frames,
    pad: cfg.data.pad,
  };
}

/** Steps of one stage. */
export function stageSteps(cfg: RunConfig, stage: string): number {
  return cfg.train.stageSteps[stage] ?? cfg.train.steps;
}

/** JSON with sorted keys, for comparing configs. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (isObject(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

/**
 * A short hash of the settings that decide a run's weights: model, preset, hps, the data set's name, limit and
 * flip, spec, frames and train. The data's channels, size and pad are left out (the data set fixes them, and they
 * are only known once it is loaded), as are log and provenance. A run's saved config.json and the config a
 * command would resolve for it again give the same fingerprint exactly when they train the same weights, so a
 * results table can tell a run recorded under an older preset from one it would train now.
 */
export function configFingerprint(cfg: RunConfig): string {
  const { model, preset, hps, spec, frames, framesAsImages, train } = cfg;
  const { name, limit, flip, validation } = cfg.data;
  const weights: Record<string, unknown> = {
    model,
    preset,
    hps,
    // validation and selectBest only enter when used, so earlier runs keep their fingerprints.
    data: validation ? { name, limit, flip, validation } : { name, limit, flip },
    spec,
    frames,
    framesAsImages,
    train: { ...train },
  };
  if (!train.selectBest) delete (weights.train as Partial<TrainSettings>).selectBest;
  // Which modules start from other weights changes the run; where they come from is machine-local (a path).
  if (cfg.init) weights.init = cfg.init.modules;
  return createHash("sha256").update(canonical(weights)).digest("hex").slice(0, 12);
}

/** The settings that differ between a run's saved config and a requested one (log and provenance aside). */
export function configDifferences(saved: RunConfig, requested: RunConfig): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    if (canonical(a) === canonical(b)) return;
    // A setting added after the run was made, at its neutral default (data.validation 0, train.selectBest false).
    if (a === undefined && (b === 0 || b === false || b === null)) return;
    if (isObject(a) && isObject(b) && path !== "spec") {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)]))
        walk(a[k], b[k], path ? `${path}.${k}` : k);
    } else out.push(`${path}: ${canonical(a)} in the run, ${canonical(b)} requested`);
  };
  for (const k of sections)
    if (k !== "log" && k !== "provenance")
      walk(
        (saved as unknown as Record<string, unknown>)[k],
        (requested as unknown as Record<string, unknown>)[k],
        k,
      );
  return out;
}
