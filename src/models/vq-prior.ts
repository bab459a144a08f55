// Stage 2 of the VQ-VAE family: a GPT-style decoder-only transformer over the code indices of one image, in
// raster order (van den Oord et al. 2017 used a PixelCNN here; Esser et al. 2021, VQGAN, a transformer). It
// follows nanoGPT: pre-LayerNorm blocks of causal multi-head self-attention and an MLP, learned token and position
// embeddings, dropout, optional weight tying, GPT-2's initialisation. A start token (index K) precedes the codes,
// so position p reads codes < p and predicts code p. Sampling feeds one code at a time through a key/value cache:
// each new code costs one position's work instead of re-running the prefix. vq-video.ts extends this model to the
// codes of all frames of a pseudo video.
import {
  CausalSelfAttention,
  Dropout,
  Embedding,
  LayerNorm,
  Linear,
  Module,
  disposeCache,
  emptyCache,
  init,
  type KVCache,
} from "../nn/index.js";
import { applyDropout } from "../nn/attention.js";
import {
  type Tensor,
  cat,
  check,
  crossEntropy,
  expected,
  full,
  linear,
  multinomial,
  noGrad,
  tidy,
} from "../tensor/index.js";
import { isPositiveInt } from "../errors.js";

export interface PriorConfig {
  /** Transformer blocks. */
  layers: number;
  /** Attention heads; must divide embd. */
  heads: number;
  /** Width of the residual stream. */
  embd: number;
  /** Dropout on embeddings, attention weights and residual branches. */
  dropout: number;
  /** Share the token embedding with the output layer (Press & Wolf 2017). */
  tie: boolean;
}

export const priorDefaults: PriorConfig = { layers: 4, heads: 4, embd: 128, dropout: 0, tie: false };

export interface SampleOptions {
  /** Divides the logits: < 1 sharpens, > 1 flattens, 0 always takes the most likely code. */
  temperature?: number;
  /** Keep only the k most likely codes (0: all). */
  topK?: number;
  /** Keep the most likely codes whose probabilities sum to p (nucleus sampling; 1: all). */
  topP?: number;
  /** Use the key/value cache (default); false re-runs the whole prefix per code, for benchmarks and tests. */
  cache?: boolean;
}

// ***** blocks *****

class Mlp extends Module {
  fc: Linear;
  proj: Linear;
  drop: Dropout;
  constructor(cfg: PriorConfig) {
    super();
    this.fc = new Linear(cfg.embd, 4 * cfg.embd);
    this.proj = new Linear(4 * cfg.embd, cfg.embd);
    this.drop = new Dropout(cfg.dropout);
  }
  forward(x: Tensor): Tensor {
    return applyDropout(this.drop, this.proj.forward(this.fc.forward(x).gelu()));
  }
}

/** x + attn(ln(x)), then x + mlp(ln(x)). */
class Block extends Module {
  ln1: LayerNorm;
  attn: CausalSelfAttention;
  ln2: LayerNorm;
  mlp: Mlp;
  constructor(cfg: PriorConfig) {
    super();
    this.ln1 = new LayerNorm(cfg.embd);
    this.attn = new CausalSelfAttention(cfg.embd, cfg.heads, cfg.dropout);
    this.ln2 = new LayerNorm(cfg.embd);
    this.mlp = new Mlp(cfg);
  }
  forward(x: Tensor, cache?: KVCache): Tensor {
    // Scoped: intermediates are freed as soon as the block is done (autograd keeps what backward needs).
    return tidy(() => {
      const h = x.add(this.attn.forward(this.ln1.forward(x), { cache }));
      return h.add(this.mlp.forward(this.ln2.forward(h)));
    });
  }
}

// ***** sampling *****

/** One code per row of logits (n, K) → (n, 1): temperature, then top-k, then top-p truncation; temperature 0 is argmax. */
export function pick(logits: Tensor, temperature: number, topK: number, topP: number): Tensor {
  if (temperature === 0) return logits.argmax(-1, true);
  let l = temperature === 1 ? logits : logits.div(temperature);
  const K = l.size(-1);
  const k = topK > 0 && topK < K ? topK : K;
  if (topP < 1) {
    // The k most likely codes come sorted from topk; without top-k, only as many as the nucleus needs.
    const top = k < K ? l.topk(k, -1) : null;
    const lse = (top ? top[0] : l).logsumexp(-1, true);
    const [sorted, order] = top ?? nucleusCandidates(l, lse, topP);
    const probs = sorted.sub(lse).exp();
    // Drop a code once the more likely ones already cover topP; the most likely code always stays.
    const drop = probs.cumsum(-1).sub(probs).gt(topP);
    l = full(l.shape, -Infinity).scatter(1, order, sorted.maskedFill(drop, -Infinity));
  } else if (k < K) {
    const kth = l.topk(k, -1)[0].narrow(1, k - 1, 1);
    l = l.maskedFill(l.lt(kth), -Infinity);
  }
  return multinomial(l.softmax(-1), 1);
}

/**
 * The most likely codes of each row of l (n, K), sorted, with their indices: only as many as cover `topP` in every
 * row (the codes after those are dropped anyway). Sorting all K codes per sampled code was 5 % of a sampling run;
 * a learned prior's nucleus is usually a few dozen codes, so partial top-k's of growing size are tried first and
 * the full sort is left for flat distributions. `lse`: the rows' log-sum-exp (n, 1).
 */
function nucleusCandidates(l: Tensor, lse: Tensor, topP: number): [Tensor, Tensor] {
  const K = l.size(-1);
  for (let m = 32; m < K; m *= 4) {
    const [values, indices] = l.topk(m, -1);
    if (values.sub(lse).exp().sum(-1).min().item() > topP) return [values, indices];
  }
  return l.sort(-1, true);
}

export function sampleOptions(o: SampleOptions): Required<SampleOptions> {
  const r = { temperature: o.temperature ?? 1, topK: o.topK ?? 0, topP: o.topP ?? 1, cache: o.cache ?? true };
  if (!(r.temperature >= 0 && Number.isFinite(r.temperature)))
    throw expected("a non-negative number (0: the most likely code)", "temperature", r.temperature);
  if (!(Number.isInteger(r.topK) && r.topK >= 0))
    throw expected("a non-negative integer (0: off)", "topK", r.topK);
  if (!(r.topP > 0 && r.topP <= 1)) throw expected("a number in (0, 1] (1: off)", "topP", r.topP);
  return r;
}

// ***** the prior *****

export class CodePrior extends Module {
  /** Code embeddings, plus the start token at index K. */
  tok: Embedding;
  /** Learned embeddings of the positions within one image's code grid. */
  pos: Embedding;
  drop: Dropout;
  blocks: Block[];
  ln: LayerNorm;
  head: Linear | null;

  /**
   * `codes` is the codebook size K; `positions` the codes per image (g·g). `length` is the codes per sample:
   * `positions` for an image, more for the video prior.
   */
  constructor(
    readonly cfg: PriorConfig,
    readonly codes: number,
    readonly positions: number,
    readonly length = positions,
  ) {
    super();
    if (!isPositiveInt(cfg.layers)) throw expected("positive integer", "layers", cfg.layers);
    if (!isPositiveInt(cfg.embd) || cfg.embd % cfg.heads)
      throw expected(`a positive multiple of heads=${cfg.heads}`, "embd", cfg.embd);
    this.tok = new Embedding(codes + 1, cfg.embd);
    this.pos = new Embedding(positions, cfg.embd);
    this.drop = new Dropout(cfg.dropout);
    this.blocks = Array.from({ length: cfg.layers }, () => new Block(cfg));
    this.ln = new LayerNorm(cfg.embd);
    this.head = cfg.tie ? null : new Linear(cfg.embd, codes, { bias: false });
    // GPT-2: small normal weights, zero biases; each residual branch's output layer shrunk by √(2·layers) so the
    // residual stream's variance does not grow with depth.
    for (const m of this.modules()) {
      if (m instanceof Embedding) init.normal_(m.weight, 0.02);
      if (m instanceof Linear) {
        init.normal_(m.weight, 0.02);
        if (m.bias) init.zeros_(m.bias);
      }
    }
    for (const b of this.blocks)
      for (const l of [b.attn.proj, b.mlp.proj]) init.normal_(l.weight, 0.02 / Math.sqrt(2 * cfg.layers));
  }

  /** Position embeddings of sequence positions [start, start + n) → (n, embd). */
  protected positionEmbeddings(start: number, n: number): Tensor {
    return this.pos.weight.narrow(0, start, n);
  }

  /**
   * Logits (B, n, K) of the codes at positions [start, start + n), from tokens (B, n): the start token or the
   * previous code at each position. With `caches` (one per block) earlier positions come from the caches,
   * which are extended.
   */
  logits(tokens: Tensor, start = 0, caches?: KVCache[]): Tensor {
    const n = tokens.size(1);
    check(start + n <= this.length, () => `CodePrior: positions up to ${start + n} > length ${this.length}`);
    return this.transform(this.tok.forward(tokens).add(this.positionEmbeddings(start, n)), caches);
  }

  /** The transformer proper: embedded inputs (B, n, embd) → logits (B, n, K). */
  protected transform(x: Tensor, caches?: KVCache[]): Tensor {
    let h = applyDropout(this.drop, x);
    for (const [i, b] of this.blocks.entries()) h = b.forward(h, caches?.[i]);
    h = this.ln.forward(h);
    return this.head ? this.head.forward(h) : linear(h, this.tok.weight.narrow(0, 0, this.codes));
  }

  /** Tokens (…, L) that predict codes (…, L): the start token, then every code but the last. */
  protected inputs(codes: Tensor): Tensor {
    const L = codes.size(-1);
    const start = full([...codes.shape.slice(0, -1), 1], this.codes, { dtype: "int64" });
    return cat([start, codes.narrow(-1, 0, L - 1)], -1);
  }

  /** Per-code NLL in nats of logits (…, K) for codes (…) → (…). */
  protected codeNll(logits: Tensor, codes: Tensor): Tensor {
    const shape = codes.shape;
    // (…, K) → (N, K)
    return crossEntropy(logits.reshape(-1, this.codes), codes.reshape(-1), { reduction: "none" }).view(
      ...shape,
    );
  }

  /** Negative log-likelihood in nats of each code of sequences (B, L) → (B, L). */
  nll(codes: Tensor): Tensor {
    return this.codeNll(this.logits(this.inputs(codes)), codes);
  }

  /** n code sequences (n, length), int64, one code at a time. */
  sample(n: number, opts: SampleOptions = {}): Tensor {
    if (!isPositiveInt(n)) throw expected("positive integer", "n", n);
    const o = sampleOptions(opts);
    return noGrad(() =>
      tidy(() => this.extend(full([n, 1], this.codes, { dtype: "int64" }), 0, this.length, o)),
    );
  }

  /**
   * Draws `count` codes (B, count) that follow `prefix` (B, m), whose tokens sit at positions [start, start + m):
   * with the cache, the prefix goes through the model once and each new code costs one position; without it,
   * every code re-runs the prefix and the codes drawn so far.
   */
  protected extend(prefix: Tensor, start: number, count: number, o: Required<SampleOptions>): Tensor {
    const next = (logits: Tensor) => pick(logits.select(1, -1), o.temperature, o.topK, o.topP);
    const out: Tensor[] = [];
    if (o.cache) {
      // Sized for the whole extension, so no cache regrows.
      const caches = this.blocks.map(() => emptyCache(prefix.size(1) + count));
      try {
        let input = prefix,
          at = start;
        for (let i = 0; i < count; i++) {
          const [x, s] = [input, at];
          out.push(tidy(() => next(this.logits(x, s, caches))));
          [input, at] = [out[i]!, at + x.size(1)];
        }
      } finally {
        caches.forEach(disposeCache);
      }
    } else {
      for (let i = 0; i < count; i++) {
        const x = cat([prefix, ...out], 1);
        out.push(tidy(() => next(this.logits(x, start))));
        x.dispose();
      }
    }
    return cat(out, 1);
  }
}
