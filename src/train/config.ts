// A run's configuration: everything needed to reproduce it, resolved from (lowest to highest precedence) the
// loop's defaults, the model family's per-preset training defaults, a --config JSON file and command-line flags.
// The resolved config is written to <run>/config.json; that file is itself a valid --config, and a resumed run
// must match it (nanoGPT re-imposes its model args the same way).
//
// Sections: model (family, preset, hps), data, spec + frames (the pseudo videos), train (everything that changes
// the weights) and log (intervals of evals, sample grids and checkpoints, which never change the weights: evals and
// samples run on their own RNG stream). `provenance` records where and with what it ran; it is not compared.
import { type ImageSet, datasetNames } from "../data/index.js";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { totalmem } from "node:os";
import { getFamily } from "../models/registry.js";
import type { DataShape } from "../models/model.js";
import { ArgumentError, expected, oneLine } from "../errors.js";
import { parseSpec, presetNames, type VideoSpec } from "../video/index.js";
import type { InitSettings } from "./init.js";

export interface TrainSettings {
  seed: number;
  batch: number;
  /** Steps of each stage (a family with stages "vqvae", "prior" trains `steps` of each unless stageSteps says). */
  steps: number;
  stageSteps: Record<string, number>;
  lr: number;
  /** The cosine schedule ends at this fraction of lr. */
  minLrFraction: number;
  warmup: number;
  gradClip: number;
  /** Updates with a larger gradient norm are skipped and counted (VDVAE's grad_skip_threshold). */
  skipThreshold: number;
  emaDecay: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Non-finite steps in a row after which the run stops (keeping its last good checkpoint). */
  maxBadSteps: number;
  /**
   * Keep the EMA weights of the evaluation with the lowest validation last_bpd_given_true (needs data.validation)
   * in <run>/best/, and sample and evaluate those: best-checkpoint selection for runs that would overfit.
   */
  selectBest: boolean;
}

export interface LogSettings {
  /** Steps between test-set evaluations (0: only at the end of each stage). */
  evalEvery: number;
  /** Test images per evaluation (the first ones of the test split). */
  evalImages: number;
  /** Steps between sample grids (0: only at the end). */
  sampleEvery: number;
  sampleN: number;
  temperature: number;
  checkpointEvery: number;
}

export interface DataSettings {
  /** A data set name or a path (folder or archive). */
  name: string;
  flip: boolean;
  /** At most this many images per split (quick runs and tests), or null for all. */
  limit: number | null;
  /** The last this many images of the train split are held out as a validation split (0: none). */
  validation: number;
  /** Filled in from the data: image channels and side, and the border added to reach a power-of-two size. */
  channels: number;
  size: number;
  pad: number;
}

export interface RunConfig {
  model: string;
  preset: string;
  hps: Record<string, unknown>;
  data: DataSettings;
  spec: VideoSpec;
  /** T: frames per pseudo video (the spec's, e.g. 1 for "none"). */
  frames: number;
  /** The data-size control: an image model trained on all T frames as separate images (same frames per step). */
  framesAsImages: boolean;
  /** Weights to start from (init.ts): a warm start, or the VQ family's shared tokenizer; null: none. */
  init: InitSettings | null;
  train: TrainSettings;
  log: LogSettings;
  provenance?: Record<string, string>;
}

/** What flags and --config files give: any subset, data as a name or an object. */
export interface RunInput {
  model?: string;
  preset?: string;
  hps?: Record<string, unknown>;
  data?: string | Partial<DataSettings>;
  spec?: string | object;
  frames?: number;
  framesAsImages?: boolean;
  init?: Partial<InitSettings> | null;
  train?: Partial<TrainSettings>;
  log?: Partial<LogSettings>;
  provenance?: unknown;
}

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

const sections = [
  "model",
  "preset",
  "hps",
  "data",
  "spec",
  "frames",
  "framesAsImages",
  "init",
  "train",
  "log",
  "provenance",
];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Reads a --config file: a run's config.json or any subset of it. */
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
  for (const k of Object.keys(v))
    if (!sections.includes(k))
      throw new ArgumentError(
        `Unknown key ${JSON.stringify(k)} in config file ${path}. Valid keys: ${sections.join(", ")}`,
      );
  return v as RunInput;
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

function checkSettings<T extends object>(given: unknown, base: T, section: string): T {
  if (given === undefined) return { ...base };
  if (!isObject(given)) throw expected("an object", section, given);
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(given)) {
    if (!(k in base))
      throw new ArgumentError(`Unknown setting ${section}.${k}. Valid: ${Object.keys(base).join(", ")}`);
    const want = (base as Record<string, unknown>)[k];
    if (want !== null && typeof v !== typeof want) throw expected(typeof want, `${section}.${k}`, v);
    out[k] = v;
  }
  return out as T;
}

function positiveInt(v: number, name: string): void {
  if (!(Number.isInteger(v) && v > 0)) throw expected("positive integer", name, v);
}
function nonNegativeInt(v: number, name: string): void {
  if (!(Number.isInteger(v) && v >= 0)) throw expected("non-negative integer", name, v);
}
function inRange(v: number, name: string, lo: number, hi: number): void {
  if (!(v >= lo && v <= hi)) throw expected(`a number in [${lo}, ${hi}]`, name, v);
}

/**
 * Resolves everything that does not need the data. Unknown names (model, preset, data set, spec) list the valid
 * ones; unknown keys and wrong types are errors naming the key.
 */
export function resolveRunConfig(input: RunInput): RunConfig {
  const model = input.model ?? "hvae";
  const preset = input.preset ?? "small";
  // A config file may hold any JSON here; the registry expects names.
  for (const [key, v] of [
    ["model", model],
    ["preset", preset],
  ] as const)
    if (typeof v !== "string") throw expected("a name (string)", key, v);
  const family = getFamily(model);
  if (!(preset in family.hps))
    throw new ArgumentError(
      `Unknown preset ${JSON.stringify(preset)} for model ${model}. Valid presets: ${Object.keys(family.hps).join(", ")}`,
    );
  if (input.hps !== undefined && !isObject(input.hps)) throw expected("an object", "hps", input.hps);
  const hps = family.resolve((input.hps ?? {}) as object, preset) as Record<string, unknown>;

  const dataIn = typeof input.data === "string" ? { name: input.data } : (input.data ?? {});
  if (!isObject(dataIn)) throw expected("a data set name, a path or an object", "data", input.data);
  const data = checkSettings(
    dataIn,
    { name: "", flip: false, limit: null as number | null, validation: 0, channels: 0, size: 0, pad: -1 },
    "data",
  );
  if (!data.name)
    throw new ArgumentError(
      `Missing data: pass --data with a data set name (${datasetNames.join(", ")}) or a path`,
    );
  if (!(datasetNames as readonly string[]).includes(data.name) && !existsSync(data.name))
    throw new ArgumentError(
      `Unknown data set ${JSON.stringify(data.name)}. Valid names: ${datasetNames.join(", ")}, or a path to a folder or archive`,
    );
  if (data.limit !== null) positiveInt(data.limit, "data.limit");
  nonNegativeInt(data.validation, "data.validation");

  const frames =
    input.frames ??
    (typeof input.spec === "object" && input.spec && "frames" in input.spec ? Number(input.spec.frames) : 1);
  positiveInt(frames, "frames");
  const specIn = input.spec ?? (frames === 1 ? "none" : undefined);
  if (specIn === undefined)
    throw new ArgumentError(
      `Missing spec: frames ${frames} > 1 needs --spec (${presetNames.join(", ")}, or a .json file)`,
    );
  const spec = parseSpec(specIn, frames);
  const framesAsImages = input.framesAsImages ?? false;
  if (typeof framesAsImages !== "boolean") throw expected("true or false", "framesAsImages", framesAsImages);

  const train = checkSettings(input.train, { ...trainDefaults, ...family.trainDefaults?.[preset] }, "train");
  for (const k of ["batch", "steps", "maxBadSteps"] as const) positiveInt(train[k], `train.${k}`);
  for (const k of ["seed", "warmup"] as const) nonNegativeInt(train[k], `train.${k}`);
  if (!isObject(train.stageSteps))
    throw expected("an object of stage: steps", "train.stageSteps", train.stageSteps);
  // 0 skips a stage: the VQ family's prior on a shared tokenizer (init) trains no VQ-VAE of its own.
  for (const [stage, n] of Object.entries(train.stageSteps)) nonNegativeInt(n, `train.stageSteps.${stage}`);
  if (!(train.lr > 0)) throw expected("a positive number", "train.lr", train.lr);
  inRange(train.minLrFraction, "train.minLrFraction", 0, 1);
  for (const k of ["emaDecay", "beta1", "beta2"] as const) inRange(train[k], `train.${k}`, 0, 0.999999);
  if (!(train.gradClip > 0)) throw expected("a positive number", "train.gradClip", train.gradClip);
  if (!(train.skipThreshold > 0))
    throw expected("a positive number", "train.skipThreshold", train.skipThreshold);
  if (!(train.weightDecay >= 0))
    throw expected("a non-negative number", "train.weightDecay", train.weightDecay);
  if (train.selectBest && data.validation === 0)
    throw new ArgumentError(
      "train.selectBest needs a validation split: set data.validation (e.g. --validation 200)",
    );

  const log = checkSettings(input.log, logDefaults, "log");
  for (const k of ["evalEvery", "sampleEvery", "checkpointEvery", "evalImages"] as const)
    nonNegativeInt(log[k], `log.${k}`);
  positiveInt(log.sampleN, "log.sampleN");
  if (!(log.temperature >= 0)) throw expected("a non-negative number", "log.temperature", log.temperature);
  const auto = (every: number, parts: number) => every || Math.max(1, Math.ceil(train.steps / parts));
  log.evalEvery = auto(log.evalEvery, 5);
  log.sampleEvery = auto(log.sampleEvery, 5);
  log.checkpointEvery = auto(log.checkpointEvery, 10);

  let init: InitSettings | null = null;
  if (input.init !== undefined && input.init !== null) {
    init = checkSettings(input.init, { from: "", modules: [] as string[], sha256: "" }, "init");
    if (!init.from) throw expected("a run folder or .safetensors file", "init.from", init.from);
    init.from = resolve(init.from); // a resumed run finds it from any working directory
    if (!Array.isArray(init.modules) || !init.modules.every((m) => typeof m === "string" && m))
      throw expected("a list of tensor name prefixes", "init.modules", init.modules);
  }

  return { model, preset, hps, data, spec, frames: spec.frames, framesAsImages, init, train, log };
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
