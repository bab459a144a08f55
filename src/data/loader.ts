// Batches for training and evaluation: uint8 NCHW images in, float tensors in [−1, 1] out, optionally padded
// (28×28 MNIST → 32×32, border −1) and horizontally flipped.
//
// Training order is a pure function of (seed, epoch): each epoch's permutation and flips come from a small
// seeded PRNG (mulberry32), so the loader's whole state is its position {epoch, index}; a resumed run that
// restores the position draws exactly the batches the uninterrupted run would have. Batches never straddle
// epochs: the last partial batch of an epoch is dropped, as is usual for training.
import type { ImageSet } from "./types.js";
import { type Tensor, expected, fromTyped, pad, tidy, where } from "../tensor/index.js";
import { isNonNegativeInt, isPositiveInt } from "../errors.js";
import { mulberry32 } from "../util/random.js";

export interface LoaderState {
  epoch: number;
  /** Batches already drawn in this epoch. */
  batch: number;
}

export interface LoaderOptions {
  batch: number;
  seed: number;
  /** Border pixels added on every side (value −1, black). Default 0. */
  pad?: number;
  /** Mirror each image left-right with probability ½ (drawn per epoch from the seed). Default false. */
  flip?: boolean;
}

/** A permutation of 0..n−1 and n flip bits for one epoch, from (seed, epoch) alone. */
export function epochOrder(n: number, seed: number, epoch: number): { order: Int32Array; flips: Uint8Array } {
  const next = mulberry32(Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca77));
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const flips = new Uint8Array(n);
  for (let i = 0; i < n; i++) flips[i] = next() < 0.5 ? 1 : 0;
  return { order, flips };
}

/** Copies the images at `indices` into one uint8 batch (B, C, H, W). */
function gather(set: ImageSet, indices: ArrayLike<number>): Uint8Array {
  const size = set.c * set.h * set.w;
  const out = new Uint8Array(indices.length * size);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i]!;
    out.set(set.images.subarray(k * size, (k + 1) * size), i * size);
  }
  return out;
}

/** uint8 (B, C, H, W) bytes → float (B, C, H+2p, W+2p) in [−1, 1], the border at −1. */
export function toFloat(
  bytes: Uint8Array,
  shape: { n: number; c: number; h: number; w: number },
  border = 0,
): Tensor {
  return tidy(() => {
    const x = fromTyped(bytes, [shape.n, shape.c, shape.h, shape.w])
      .float()
      .mul(2 / 255)
      .sub(1);
    return border > 0 ? pad(x, [border, border, border, border], { value: -1 }) : x;
  });
}

export class BatchLoader {
  readonly set: ImageSet;
  readonly batch: number;
  readonly seed: number;
  readonly pad: number;
  readonly flip: boolean;
  #state: LoaderState = { epoch: 0, batch: 0 };
  #epoch: { order: Int32Array; flips: Uint8Array } | null = null;

  constructor(set: ImageSet, opts: LoaderOptions) {
    if (!isPositiveInt(opts.batch)) throw expected("positive integer", "batch", opts.batch);
    if (opts.batch > set.n)
      throw expected(`a batch size of at most the ${set.n} images in the set`, "batch", opts.batch);
    if (!isNonNegativeInt(opts.seed)) throw expected("non-negative integer", "seed", opts.seed);
    this.set = set;
    this.batch = opts.batch;
    this.seed = opts.seed;
    this.pad = opts.pad ?? 0;
    this.flip = opts.flip ?? false;
  }

  get batchesPerEpoch(): number {
    return Math.floor(this.set.n / this.batch);
  }

  /** The position to save in a checkpoint. */
  state(): LoaderState {
    return { ...this.#state };
  }

  restore(state: LoaderState): void {
    if (
      !isNonNegativeInt(state?.epoch) ||
      !isNonNegativeInt(state?.batch) ||
      state.batch > this.batchesPerEpoch
    )
      throw expected(
        `{epoch, batch} with batch ≤ ${this.batchesPerEpoch}`,
        "loader state",
        JSON.stringify(state),
      );
    this.#state = { ...state };
    this.#epoch = null;
  }

  /** The next training batch (B, C, H+2p, W+2p) in [−1, 1]. */
  next(): Tensor {
    if (this.#state.batch >= this.batchesPerEpoch) {
      this.#state = { epoch: this.#state.epoch + 1, batch: 0 };
      this.#epoch = null;
    }
    this.#epoch ??= epochOrder(this.set.n, this.seed, this.#state.epoch);
    const start = this.#state.batch * this.batch;
    const indices = this.#epoch.order.subarray(start, start + this.batch);
    this.#state.batch++;
    const { c, h, w } = this.set;
    const x = toFloat(gather(this.set, indices), { n: this.batch, c, h, w }, this.pad);
    if (!this.flip) return x;
    const flips = this.#epoch.flips.subarray(start, start + this.batch);
    return tidy(() => {
      const mask = fromTyped(flips, [this.batch, 1, 1, 1], { dtype: "bool" });
      return where(mask, x.flip(3), x);
    });
  }
}

/**
 * The first `limit` images of a set (all by default) in order, as batches (the last may be smaller): for
 * evaluation. Each batch is handed to `fn` inside its own tidy scope.
 */
export function forEachBatch(
  set: ImageSet,
  o: { batch: number; pad?: number; limit?: number },
  fn: (x: Tensor, n: number) => void,
): void {
  if (!isPositiveInt(o.batch)) throw expected("positive integer", "batch", o.batch);
  const total = Math.min(set.n, o.limit ?? set.n);
  const { c, h, w } = set;
  for (let start = 0; start < total; start += o.batch) {
    const n = Math.min(o.batch, total - start);
    const bytes = set.images.subarray(start * c * h * w, (start + n) * c * h * w);
    tidy(() => fn(toFloat(bytes, { n, c, h, w }, o.pad ?? 0), n));
  }
}
