// Batched feature extraction over uint8 image sets, with a progress bar and a batch size chosen from the memory
// the machine has free (halved and retried if libtorch still runs out).
import { freemem } from "node:os";
import { Progress } from "../data/index.js";
import { type Tensor, TorchError, fromTyped, noGrad, tidy } from "../tensor/index.js";

/** Images as the data module gives them: uint8, NCHW, contiguous. */
export interface Images {
  images: Uint8Array;
  n: number;
  c: number;
  h: number;
  w: number;
}

export interface ExtractOptions {
  label: string;
  /** Peak memory one image needs in the forward pass, for the automatic batch size. */
  bytesPerImage: number;
  /** A fixed batch size instead of the automatic one. */
  batch?: number;
  progress?: boolean;
}

const MAX_BATCH = 512;

/** The largest batch whose activations fit in a quarter of the free memory (at most 4 GiB), 1 to 512. */
export function autoBatch(bytesPerImage: number): number {
  const budget = Math.min(freemem() / 4, 4 * 2 ** 30);
  return Math.max(1, Math.min(MAX_BATCH, Math.floor(budget / bytesPerImage)));
}

/** Images start..start+count as a uint8 tensor (count, C, H, W). */
function imageBatch(set: Images, start: number, count: number): Tensor {
  const per = set.c * set.h * set.w;
  return fromTyped(set.images.subarray(start * per, (start + count) * per), [count, set.c, set.h, set.w]);
}

/** Runs `forward` (uint8 images (B, C, H, W) → features (B, D)) over the set; returns the features (N, D). */
export function extractFeatures(set: Images, forward: (images: Tensor) => Tensor, o: ExtractOptions): Tensor {
  let batch = Math.min(o.batch ?? autoBatch(o.bytesPerImage), Math.max(1, set.n));
  const bar = new Progress({ total: set.n, label: o.label, unit: "img", enabled: o.progress ?? true });
  let out: Float32Array | null = null;
  let dims = 0;
  for (let start = 0; start < set.n;) {
    const count = Math.min(batch, set.n - start);
    let values: Float32Array;
    try {
      values = noGrad(() =>
        tidy(
          () =>
            forward(imageBatch(set, start, count))
              .float()
              .data() as Float32Array,
        ),
      );
    } catch (err) {
      // An allocation failure: try again with half the batch (unless a fixed batch size was asked for).
      if (
        err instanceof TorchError &&
        /alloc|memory/i.test(err.message) &&
        batch > 1 &&
        o.batch === undefined
      ) {
        batch = Math.max(1, batch >> 1);
        bar.log(`${o.label}: out of memory, batch size now ${batch}`);
        continue;
      }
      throw err;
    }
    if (out === null) {
      dims = values.length / count;
      out = new Float32Array(set.n * dims);
    }
    out.set(values, start * dims);
    start += count;
    bar.tick(count);
  }
  bar.done({ batch });
  return fromTyped(out ?? new Float32Array(0), [set.n, dims]);
}
