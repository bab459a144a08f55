// Best-checkpoint selection (train.selectBest): the EMA weights of the evaluation whose validation
// last_bpd_given_true was lowest, kept in <run>/best/ (ema.safetensors, then best.json naming their step and
// value, each written atomically: best.json is written last, so it never names weights that are not all there).
// Reading a run back (run/run.ts) samples and evaluates these weights instead of the latest checkpoint's.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Module } from "../nn/index.js";
import { saveSafetensors } from "../nn/safetensors.js";
import { CheckpointError } from "../tensor/index.js";
import { writeFileAtomic } from "../util/atomic.js";

export interface Best {
  step: number;
  /** Validation last_bpd_given_true of those weights. */
  value: number;
}

export const bestWeights = (dir: string) => join(dir, "best", "ema.safetensors");

export function readBest(dir: string): Best | null {
  const path = join(dir, "best", "best.json");
  if (!existsSync(path)) return null;
  let b: Best;
  try {
    b = JSON.parse(readFileSync(path, "utf8")) as Best;
  } catch {
    throw new CheckpointError(`${path} is not valid JSON`);
  }
  if (!Number.isInteger(b.step) || typeof b.value !== "number")
    throw new CheckpointError(`${path} does not name a step and a value`);
  return b;
}

export function writeBest(dir: string, model: Module, best: Best): void {
  mkdirSync(join(dir, "best"), { recursive: true });
  saveSafetensors(bestWeights(dir), model.stateDict(), { step: String(best.step) });
  writeFileAtomic(join(dir, "best", "best.json"), JSON.stringify(best) + "\n");
}
