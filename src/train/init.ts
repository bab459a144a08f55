// Starting a run from another run's weights (`init` in the run config, `--init-from` on the command line):
// a warm start (a video model from a trained image run: its context convs and frame embeddings start at zero, so
// at step 0 it scores every frame as the image model does) and the VQ family's shared tokenizer (every row's prior
// on one clean-image VQ-VAE per seed: `modules: ["vqvae."]`, with stage vqvae trained for 0 steps).
//
// The source is a run folder, whose latest checkpoint's EMA weights (what that run evaluates and samples; with
// best-checkpoint selection, its best/ weights) are taken, or a .safetensors file. Only tensors whose names start with one of `modules` are taken (all when empty);
// each must exist in the new model with the same shape; the model's other tensors keep their initialisation. The
// sha256 of what was taken is recorded in config.json, so rows that claim to share a tokenizer can be checked to.
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Module } from "../nn/index.js";
import { loadSafetensors } from "../nn/safetensors.js";
import { type Tensor, ArgumentError, CheckpointError, dispose } from "../tensor/index.js";
import { bestWeights, readBest } from "./best.js";
import { latestCheckpoint, readTensorFile } from "./checkpoint.js";
import type { InitSettings } from "./config.js";

/** The source's tensors under `modules`: a map the caller disposes. */
export function readInitWeights(init: InitSettings): Map<string, Tensor> {
  if (!existsSync(init.from))
    throw new ArgumentError(`Cannot initialise from ${init.from} (init.from): no such run folder or file`);
  let all: Map<string, Tensor>;
  if (statSync(init.from).isDirectory() && readBest(init.from))
    all = loadSafetensors(bestWeights(init.from)).tensors;
  else if (statSync(init.from).isDirectory()) {
    const ckpt = latestCheckpoint(init.from);
    if (!ckpt) throw new CheckpointError(`${init.from} (init.from) has no checkpoint to initialise from`);
    all = readTensorFile(ckpt, "ema");
  } else all = loadSafetensors(init.from).tensors;
  const taken = new Map<string, Tensor>();
  for (const [name, t] of all)
    if (init.modules.length === 0 || init.modules.some((m) => name.startsWith(m))) taken.set(name, t);
    else t.dispose();
  if (taken.size === 0)
    throw new ArgumentError(
      `${init.from} (init.from) has no tensors under ${init.modules.join(", ")} (init.modules)`,
    );
  return taken;
}

/** sha256 of tensors by name: names, shapes and bytes in name order. */
export function weightsChecksum(tensors: Map<string, Tensor>): string {
  const h = createHash("sha256");
  for (const name of [...tensors.keys()].sort()) {
    const t = tensors.get(name)!;
    h.update(`${name}:${t.shape.join(",")}:${t.dtype};`);
    const d = t.data();
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest("hex");
}

/**
 * Loads `init`'s weights into the model and returns their checksum. A tensor the model lacks is an error (the
 * source is not a run of this family), as is a shape mismatch; tensors only the model has stay as initialised.
 */
export function applyInit(model: Module, init: InitSettings): string {
  const tensors = readInitWeights(init);
  try {
    const own = new Set(model.stateDict().keys());
    const foreign = [...tensors.keys()].filter((k) => !own.has(k));
    if (foreign.length)
      throw new CheckpointError(
        `${init.from} (init.from) holds tensors this model does not have: ${foreign.slice(0, 4).join(", ")}` +
          (foreign.length > 4 ? `, … (${foreign.length} in all)` : ""),
      );
    model.loadStateDict(tensors, { strict: false, source: join(init.from) });
    return weightsChecksum(tensors);
  } finally {
    dispose(tensors);
  }
}
