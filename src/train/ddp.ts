// Data-parallel training over a process group (dist/): every rank runs the same run, each on its rows of every
// global batch (loop.ts cuts them; tensor/ops.ts draws the model's noise for the whole batch), and the engine's
// gradient hook averages the gradients, the loss and its terms over the group. Every rank then clips, skips or
// updates on the same numbers, so the weights stay identical and every rank makes the same collective calls.
// N ranks with B/N rows each reproduce one process with batch B: same data order, same pseudo-video and latent
// noise per example, gradients equal up to float rounding.
import type { ProcessGroup } from "../dist/index.js";
import { ArgumentError } from "../errors.js";
import { type Tensor, tensor, tidy, zerosLike } from "../tensor/index.js";
import type { GradHook } from "./engine.js";

/** Every rank's rows of a global batch of `batch` examples: `batch` must split evenly over `world` ranks. */
export function rowsPerRank(batch: number, world: number): number {
  if (batch % world !== 0)
    throw new ArgumentError(
      `train.batch ${batch} does not split over ${world} ranks: use a multiple of ${world}`,
    );
  return batch / world;
}

/**
 * Rank 0's values of `tensors` on every rank, and a check that every rank starts at rank 0's step: a resumed
 * rank that could not read the run folder's checkpoint (not shared between machines) would otherwise train
 * different weights in lockstep.
 */
export function startFromRankZero(group: ProcessGroup, tensors: Tensor[], step: number): void {
  // Every rank has read the run folder before rank 0 goes on to write it (config.json would otherwise make a
  // late rank's fresh start look like a second run in the folder); a broadcast alone does not wait for receivers.
  group.barrier();
  tidy(() => {
    const at = tensor([step]);
    group.broadcast([at]);
    const rootStep = at.item();
    if (rootStep !== step)
      throw new ArgumentError(
        `rank ${group.rank} starts at step ${step} but rank 0 at step ${rootStep}: every rank must read the same run folder (--out on a shared file system)`,
      );
  });
  group.broadcast(tensors);
}

/**
 * The gradient hook of a rank: one coalesced all-reduce of the gradients and the step's loss terms (a rank whose
 * loss is not finite sends zero gradients and its non-finite loss, so every rank skips that step), then the mean.
 * Buffers that training moves outside autograd (a VQ-VAE's moving-average codebook) are rank 0's afterwards.
 * The collectives start after backward (no overlap with it); the step's stats gain comm_ms, the time they took.
 */
export function averagingHook(group: ProcessGroup, buffers: Tensor[]): GradHook {
  const world = group.worldSize;
  return (params, step) =>
    tidy(() => {
      const grads = params.map((p) => {
        const g = p.grad;
        if (g) return g;
        p.grad = zerosLike(p);
        return p.grad;
      });
      // Object key order is insertion order, the same on every rank of one model and stage.
      const keys = Object.keys(step.stats);
      const scalars = tensor([step.loss, ...keys.map((k) => step.stats[k]!)]);
      const t0 = performance.now();
      group.allreduceSum([...grads, scalars]);
      if (buffers.length) group.broadcast(buffers);
      // This rank's time in collectives (waiting for slower ranks included): metrics.jsonl's comm_ms.
      const commMs = performance.now() - t0;
      for (const g of grads) g.div_(world);
      const mean = scalars.div(world).data() as Float32Array;
      const stats = Object.fromEntries(keys.map((k, i) => [k, mean[i + 1]!]));
      return { loss: mean[0]!, stats: { ...stats, comm_ms: Math.round(commMs * 100) / 100 } };
    });
}
