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

export class CausalSelfAttention extends Module {
  qkv: Linear;
  proj: Linear;
  drop: Dropout;
  constructor(readonly dim: number, readonly heads: number, dropout = 0) {
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
    const [q, kNew, vNew] = this.qkv.forward(x).view(B, T, 3, this.heads, hd).permute(2, 0, 3, 1, 4).unbind(0) as [Tensor, Tensor, Tensor];
    let k = kNew, v = vNew;
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
    // (B, h, T, hd) @ (B, h, hd, total) → (B, h, T, total)
    let att = q.matmul(k.transpose(-2, -1)).mul(1 / Math.sqrt(hd));
    if (opts.mask) att = att.maskedFill(opts.mask.slice(0, past, total).slice(1, 0, total).logicalNot(), -Infinity);
    // Query i sits at absolute position past + i and may not see j > past + i; a single new query sees all.
    else if (T > 1) att = att.maskedFill(ones([T, total], { dtype: "bool" }).triu(past + 1), -Infinity);
    att = applyDropout(this.drop, att.softmax(-1));
    // (B, h, T, hd) → (B, T, C)
    const y = att.matmul(v).transpose(1, 2).reshape(B, T, C);
    return applyDropout(this.drop, this.proj.forward(y));
  }
}

/** x itself when the dropout is inactive (eval mode or p = 0), not a copy: samplers run a model once per token. */
export function applyDropout(drop: Dropout, x: Tensor): Tensor {
  return drop.training && drop.p > 0 ? drop.forward(x) : x;
}
