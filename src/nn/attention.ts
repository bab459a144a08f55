// Multi-head self-attention with a causal (or caller-given) mask and an optional key/value cache, so that
// autoregressive sampling costs O(T) per new token instead of re-running the whole prefix.
import { type Tensor, cat, expected, keep, ones, tidy } from "../tensor/index.js";
import { Dropout, Linear } from "./layers.js";
import { Module } from "./module.js";

/** Keys and values of earlier positions, (B, heads, T_past, headDim) each; owned by the caller. */
export interface KVCache {
  k: Tensor | null;
  v: Tensor | null;
}

export function emptyCache(): KVCache {
  return { k: null, v: null };
}
export function disposeCache(c: KVCache): void {
  c.k?.dispose();
  c.v?.dispose();
  c.k = c.v = null;
}

/**
 * The attention scores (B, heads, T, T) are computed for as many batch rows at a time as fit in this many bytes:
 * glibc serves blocks of 32 MiB and more by mmap, so larger scores would be page-faulted in afresh at every layer
 * and step (native/addon.cc tuneAllocator), which costs more than the attention itself.
 */
const SCORE_BYTES = 16 * 1024 * 1024;

export class CausalSelfAttention extends Module {
  qkv: Linear;
  proj: Linear;
  drop: Dropout;
  constructor(
    readonly dim: number,
    readonly heads: number,
    dropout = 0,
  ) {
    super();
    if (dim % heads) throw expected(`a divisor of dim=${dim}`, "heads in CausalSelfAttention", heads);
    this.qkv = new Linear(dim, 3 * dim);
    this.proj = new Linear(dim, dim);
    this.drop = new Dropout(dropout);
  }

  /**
   * x: (B, T, C). `mask` (boolean, true = may attend) replaces the causal mask: its rows and columns index
   * absolute positions (cached ones first, then the new ones), and it may be larger than needed, e.g. built once
   * for the longest sequence. With a cache, x holds only the new positions and the cache is extended in place
   * (its old tensors are freed).
   */
  forward(x: Tensor, opts: { mask?: Tensor; cache?: KVCache } = {}): Tensor {
    // A scope of its own: the (B, heads, T, T) scores would otherwise stay allocated until the caller's scope ends
    // (autograd keeps what backward needs).
    return tidy(() => this.#attend(x, opts));
  }

  #attend(x: Tensor, opts: { mask?: Tensor; cache?: KVCache }): Tensor {
    const [B, T, C] = x.shape as [number, number, number];
    const hd = C / this.heads;
    // (B, T, 3C) → 3 × (B, heads, T, hd)
    const [q, kNew, vNew] = this.qkv
      .forward(x)
      .view(B, T, 3, this.heads, hd)
      .permute(2, 0, 3, 1, 4)
      .unbind(0) as [Tensor, Tensor, Tensor];
    let k = kNew,
      v = vNew;
    const cache = opts.cache;
    if (cache?.k && cache.v) {
      k = cat([cache.k, kNew], 2);
      v = cat([cache.v, vNew], 2);
    }
    if (cache) {
      disposeCache(cache);
      cache.k = keep(k);
      cache.v = keep(v);
    }
    const total = k.size(2);
    const past = total - T;
    const forbidden = opts.mask
      ? opts.mask.slice(0, past, total).slice(1, 0, total).logicalNot()
      : // Query i sits at absolute position past + i and may not see j > past + i; a single new query sees all.
        T > 1
        ? ones([T, total], { dtype: "bool" }).triu(past + 1)
        : null;
    // Batch chunks whose scores stay under SCORE_BYTES (see there).
    const rows = Math.max(1, Math.floor(SCORE_BYTES / (4 * this.heads * T * total)));
    const parts = q.split(rows, 0).map((qc, i) => {
      const [kc, vc] = [k, v].map((t) => t.narrow(0, i * rows, qc.size(0)));
      // (b, h, T, hd) @ (b, h, hd, total) → (b, h, T, total)
      let att = qc.matmul(kc!.transpose(-2, -1)).mul(1 / Math.sqrt(hd));
      if (forbidden) att = att.maskedFill(forbidden, -Infinity);
      att = applyDropout(this.drop, att.softmax(-1));
      return att.matmul(vc!);
    });
    // (B, h, T, hd) → (B, T, C)
    const y = (parts.length === 1 ? parts[0]! : cat(parts, 0)).transpose(1, 2).reshape(B, T, C);
    return applyDropout(this.drop, this.proj.forward(y));
  }
}

/** x itself when the dropout is inactive (eval mode or p = 0), not a copy: samplers run a model once per token. */
export function applyDropout(drop: Dropout, x: Tensor): Tensor {
  return drop.training && drop.p > 0 ? drop.forward(x) : x;
}
