// Checkpoints of a run: <run>/ckpt-<step>/ holds model.safetensors, ema.safetensors, optim.safetensors and
// state.json (the step and stage, the loader position, libtorch's RNG state, skip counters and a SHA-256 of
// each tensor file).
//
// A checkpoint is written into ckpt-<step>.tmp, every file fsynced, then the folder is renamed into place, so a
// ckpt-<step> folder is always complete: a kill at any moment (even kill -9 mid-write) leaves at worst a .tmp
// folder, which the next run deletes. Only then are older checkpoints removed. The latest checkpoint is the
// highest-numbered complete folder. Reading verifies every checksum, so a truncated or edited file is refused
// with a CheckpointError naming it rather than loaded.
import { createHash } from "node:crypto";
import * as z from "zod";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
} from "node:fs";
import { join } from "node:path";
import { decodeSafetensors, encodeSafetensors } from "../nn/index.js";
import { type Tensor, CheckpointError, dispose } from "../tensor/index.js";
import { storageError, writeSynced } from "../util/atomic.js";
import { checked } from "../util/schema.js";
import { isNonNegativeInt } from "../errors.js";

const count = z.number().refine(isNonNegativeInt, "non-negative integer");

const stateSchema = z.strictObject({
  /** Steps done, over all stages. */
  step: count,
  /** The stage in progress (or just finished) and the steps of it done. */
  stage: z.string(),
  stageStep: count,
  /** Updates skipped so far (non-finite or huge gradients) in this stage, and non-finite steps in a row. */
  skipped: count,
  badInARow: count,
  /** The loader's position (data/loader.ts LoaderState), which the loader checks against its epoch. */
  loader: z.strictObject({ epoch: count, batch: count }),
  optimizer: z.strictObject({ step: count, lr: z.number() }),
  /** libtorch's generator state, base64. */
  rng: z.base64(),
  /** Seconds of training so far (for the time column of metrics). */
  seconds: z.number().refine((v) => v >= 0, "a non-negative number"),
});
export type CheckpointState = z.infer<typeof stateSchema>;

/** state.json: the state and a SHA-256 (hex) of each tensor file. */
const stateFileSchema = stateSchema.extend({
  files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/, "a SHA-256 in hex")),
});

export const tensorFiles = ["model", "ema", "optim"] as const;
export type TensorFile = (typeof tensorFiles)[number];

const NAME = /^ckpt-(\d+)$/;

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function syncDir(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function checkpointName(step: number): string {
  return `ckpt-${String(step).padStart(6, "0")}`;
}

/** Writes a checkpoint atomically and removes older ones; returns its folder. */
export function saveCheckpoint(
  runDir: string,
  state: CheckpointState,
  tensors: Record<TensorFile, Map<string, Tensor>>,
): string {
  const final = join(runDir, checkpointName(state.step));
  const tmp = `${final}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp, { recursive: true });
    const files: Record<string, string> = {};
    for (const name of tensorFiles) {
      const bytes = encodeSafetensors(tensors[name], { format: "pt" });
      writeSynced(join(tmp, `${name}.safetensors`), bytes);
      files[`${name}.safetensors`] = sha256(bytes);
    }
    writeSynced(join(tmp, "state.json"), JSON.stringify({ ...state, files }, null, 2) + "\n");
    syncDir(tmp);
  } catch (err) {
    // Out of room, say: the half-written folder goes (freeing what it took), the last complete checkpoint stays.
    rmSync(tmp, { recursive: true, force: true });
    throw storageError(err, tmp);
  }
  // Re-saving a step (a repeated final checkpoint) replaces the old folder only once the new one is complete.
  if (existsSync(final)) renameSync(final, `${final}.old`);
  renameSync(tmp, final);
  syncDir(runDir);
  for (const entry of readdirSync(runDir)) {
    const m = NAME.exec(entry);
    if ((m && Number(m[1]) < state.step) || entry === `${checkpointName(state.step)}.old`)
      rmSync(join(runDir, entry), { recursive: true, force: true });
  }
  return final;
}

/** Deletes half-written checkpoints left by a killed run (and restores a replaced one whose successor is missing). */
export function removePartialCheckpoints(runDir: string): void {
  if (!existsSync(runDir)) return;
  for (const entry of readdirSync(runDir)) {
    const old = /^(ckpt-\d+)\.old$/.exec(entry);
    // A kill between moving a step's old folder aside and renaming its replacement: the old one is complete.
    if (old && !existsSync(join(runDir, old[1]!))) renameSync(join(runDir, entry), join(runDir, old[1]!));
    else if (old || /^ckpt-\d+\.tmp$/.test(entry))
      rmSync(join(runDir, entry), { recursive: true, force: true });
  }
}

/** The latest complete checkpoint folder, or null if there is none. */
export function latestCheckpoint(runDir: string): string | null {
  if (!existsSync(runDir)) return null;
  const steps = readdirSync(runDir)
    .map((e) => NAME.exec(e))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  return steps.length ? join(runDir, checkpointName(Math.max(...steps))) : null;
}

/** A checkpoint's state.json, checked against its schema (a CheckpointError names the file, key and value). */
export function readState(path: string): z.infer<typeof stateFileSchema> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new CheckpointError(
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let s: unknown;
  try {
    s = JSON.parse(text);
  } catch {
    throw new CheckpointError(`${path} is not valid JSON (truncated or edited?)`);
  }
  if (typeof s !== "object" || s === null || Array.isArray(s))
    throw new CheckpointError(`${path} does not hold a JSON object`);
  return checked(stateFileSchema, s, { label: path, error: CheckpointError });
}

/** Reads and verifies a checkpoint folder. The caller owns (and disposes) the returned tensors. */
export function readCheckpoint(folder: string): {
  state: CheckpointState;
  tensors: Record<TensorFile, Map<string, Tensor>>;
} {
  const { files, ...state } = readState(join(folder, "state.json"));
  const tensors = {} as Record<TensorFile, Map<string, Tensor>>;
  try {
    for (const name of tensorFiles) tensors[name] = readTensorFile(folder, name, files);
  } catch (err) {
    dispose(Object.values(tensors)); // the files read before the one refused
    throw err;
  }
  return { state, tensors };
}

/** One verified tensor file of a checkpoint (e.g. only the EMA weights, for sampling). */
export function readTensorFile(
  folder: string,
  name: TensorFile,
  files?: Record<string, string>,
): Map<string, Tensor> {
  files ??= readState(join(folder, "state.json")).files;
  const file = join(folder, `${name}.safetensors`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new CheckpointError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const want = files[`${name}.safetensors`];
  if (want === undefined)
    throw new CheckpointError(`${join(folder, "state.json")} has no checksum for ${name}.safetensors`);
  if (sha256(bytes) !== want)
    throw new CheckpointError(
      `${file} does not match its checksum in state.json: the file is truncated or was modified`,
    );
  return decodeSafetensors(bytes, file).tensors;
}
