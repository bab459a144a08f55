// Multi-head self-attention: over all positions (a U-Net's feature map), or with a causal (or caller-given) mask
// and an optional key/value cache, so that autoregressive sampling costs O(T) per new token instead of re-running
// the whole prefix.
import { type Tensor, cat, empty, expected, eye, keep, noGrad, ones, raw, tidy } from "../tensor/index.js";
import { Dropout, Linear } from "./layers.js";
import { Module } from "./module.js";

/**
 * Keys and values of earlier positions for inference: buffers (B, capacity, C) whose first `length` positions are
 * filled; owned by the caller. New positions are written in place: concatenating instead copied the whole cache
 * at every token and allocated a new one per layer. The writes are detached from autograd.
 */
export interface KVCache {
  k: Tensor | null;
  v: Tensor | null;
  length: number;
  /** Positions the buffers hold; a cache that outgrows them doubles them (one copy). */
  capacity: number;
}

/** `capacity`: the positions the caller will write (e.g. the sequence length), so the buffers never regrow. */
export function emptyCache(capacity = 0): KVCache {
  return { k: null, v: null, length: 0, capacity };
}
export function disposeCache(c: KVCache): void {
  c.k?.dispose();
  c.v?.dispose();
  c.k = c.v = null;
  c.length = 0;
}

/** Writes new keys and values (B, T, C) after the cached ones; returns views (B, length, C) of all of them. */
function append(c: KVCache, k: Tensor, v: Tensor): [Tensor, Tensor] {
  const [B, T, C] = k.shape as [number, number, number];
  const need = c.length + T;
  noGrad(() => {
    if (!c.k || !c.v || need > c.k.size(1)) {
      const capacity = Math.max(need, c.capacity, 2 * (c.k?.size(1) ?? 0));
      const [nk, nv] = [empty([B, capacity, C]), empty([B, capacity, C])];
      if (c.k && c.v && c.length) {
        nk.narrow(1, 0, c.length).copy_(c.k.narrow(1, 0, c.length));
        nv.narrow(1, 0, c.length).copy_(c.v.narrow(1, 0, c.length));
      }
      c.k?.dispose();
      c.v?.dispose();
      [c.k, c.v, c.capacity] = [keep(nk), keep(nv), capacity];
    }
    c.k.narrow(1, c.length, T).copy_(k);
    c.v.narrow(1, c.length, T).copy_(v);
  });
  c.length = need;
  return [c.k!.narrow(1, 0, need), c.v!.narrow(1, 0, need)];
}

/**
 * The attention scores (B, heads, T, T) are computed for as many batch rows at a time as fit in this many bytes:
 * glibc serves blocks of 32 MiB and more by mmap, so larger scores would be page-faulted in afresh at every layer
 * and step (native/addon.cc tuneAllocator), which costs more than the attention itself.
 */
const SCORE_BYTES = 16 * 1024 * 1024;

export class SelfAttention extends Module {
  qkv: Linear;
  proj: Linear;
  drop: Dropout;
  readonly causal: boolean;
  constructor(
    readonly dim: number,
    readonly heads: number,
    opts: { dropout?: number; causal?: boolean } = {},
  ) {
    super();
    if (dim % heads) throw expected(`a divisor of dim=${dim}`, "heads in SelfAttention", heads);
    this.qkv = new Linear(dim, 3 * dim);
    this.proj = new Linear(dim, dim);
    this.drop = new Dropout(opts.dropout ?? 0);
    this.causal = opts.causal ?? false;
  }

  /**
   * x: (B, T, C). `mask` (boolean, true = may attend) replaces the causal mask (or, without `causal`, no mask: every
   * position sees every other): its rows and columns index
   * absolute positions (cached ones first, then the new ones), and it may be larger than needed, e.g. built once
   * for the longest sequence. With a cache, x holds only the new positions, which are appended to the cache.
   */
  forward(x: Tensor, opts: { mask?: Tensor; cache?: KVCache } = {}): Tensor {
    // A scope of its own: the (B, heads, T, T) scores would otherwise stay allocated until the caller's scope ends
    // (autograd keeps what backward needs).
    return tidy(() => this.#attend(x, opts));
  }

  #attend(x: Tensor, opts: { mask?: Tensor; cache?: KVCache }): Tensor {
    const [B, T, C] = x.shape as [number, number, number];
    // (B, T, 3C) → 3 × (B, T, C)
    const [q, kNew, vNew] = this.qkv.forward(x).view(B, T, 3, C).unbind(2) as [Tensor, Tensor, Tensor];
    const [k, v] = opts.cache ? append(opts.cache, kNew, vNew) : [kNew, vNew];
    const total = k.size(1);
    const past = total - T;
    const forbidden = opts.mask
      ? opts.mask.slice(0, past, total).slice(1, 0, total).logicalNot()
      : // Query i sits at absolute position past + i and may not see j > past + i; a single new query sees all.
        this.causal && T > 1
        ? ones([T, total], { dtype: "bool" }).triu(past + 1)
        : null;
    const y = T === 1 ? this.#attendOne(q, k, v, forbidden) : this.#attendMany(q, k, v, forbidden);
    return applyDropout(this.drop, this.proj.forward(y));
  }

  /** (B, n, C) → (B, heads, n, hd) */
  #split(t: Tensor): Tensor {
    const [B, n, C] = t.shape as [number, number, number];
    return t.view(B, n, this.heads, C / this.heads).transpose(1, 2);
  }

  /** Queries (B, T, C) against keys and values (B, total, C) → (B, T, C). */
  #attendMany(query: Tensor, key: Tensor, value: Tensor, forbidden: Tensor | null): Tensor {
    const [B, T, C] = query.shape as [number, number, number];
    const [q, k, v] = [query, key, value].map((t) => this.#split(t)) as [Tensor, Tensor, Tensor];
    const total = k.size(2);
    // Batch chunks whose scores stay under SCORE_BYTES (see there).
    const rows = Math.max(1, Math.floor(SCORE_BYTES / (4 * this.heads * T * total)));
    const parts = q.split(rows, 0).map((qc, i) => {
      const [kc, vc] = [k, v].map((t) => t.narrow(0, i * rows, qc.size(0)));
      // (b, h, T, hd) @ (b, h, hd, total) → (b, h, T, total)
      let att = qc.matmul(kc!.transpose(-2, -1)).mul(1 / Math.sqrt(C / this.heads));
      if (forbidden) att = att.maskedFill(forbidden, -Infinity);
      att = applyDropout(this.drop, att.softmax(-1));
      return att.matmul(vc!);
    });
    // (B, h, T, hd) → (B, T, C)
    return (parts.length === 1 ? parts[0]! : cat(parts, 0)).transpose(1, 2).reshape(B, T, C);
  }

  /**
   * One query per row (a sampling step). Per head, the scores and the weighted sum are (1 × hd)·(hd × total)
   * products: B·heads BLAS calls each, whose fixed cost dominated sampling. Instead every head's query goes into
   * its own block of a (heads × C) matrix, zeros elsewhere, so one product per row scores all heads; the values
   * are mixed by every head's weights and each head keeps its own block. That is heads× the multiply-adds, but
   * one pass over the cache in B calls, which is what a sampling step is bound by.
   */
  #attendOne(query: Tensor, k: Tensor, v: Tensor, forbidden: Tensor | null): Tensor {
    const [B, , C] = query.shape as [number, number, number];
    const h = this.heads,
      hd = C / h;
    // (B, 1, h, hd) · (1, h, h, 1) → (B, h, C): row i holds head i's query in columns [i·hd, (i + 1)·hd).
    const blocks = query
      .view(B, 1, h, hd)
      .mul(
        eye(h)
          .view(1, h, h, 1)
          .mul(1 / Math.sqrt(hd)),
      )
      .view(B, h, C);
    // (B, h, C) @ (B, C, total) → (B, h, total)
    let att = blocks.matmul(k.transpose(1, 2));
    if (forbidden) att = att.maskedFill(forbidden, -Infinity);
    att = applyDropout(this.drop, att.softmax(-1));
    // (B, h, total) @ (B, total, C) → (B, h, h, hd); head i's output is block (i, i) → (B, hd, h) → (B, 1, C)
    return raw
      .diagonal(att.matmul(v).view(B, h, h, hd), 0, 1, 2)
      .transpose(1, 2)
      .reshape(B, 1, C);
  }
}

/** Attention in which position i sees positions ≤ i only: a transformer prior's. */
export class CausalSelfAttention extends SelfAttention {
  constructor(dim: number, heads: number, dropout = 0) {
    super(dim, heads, { dropout, causal: true });
  }
}

/** x itself when the dropout is inactive (eval mode or p = 0), not a copy: samplers run a model once per token. */
export function applyDropout(drop: Dropout, x: Tensor): Tensor {
  return drop.training && drop.p > 0 ? drop.forward(x) : x;
}
