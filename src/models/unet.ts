// The noise predictor of a DDPM (Ho et al. 2020, "Denoising Diffusion Probabilistic Models", appendix B; the
// layout of openai/improved-diffusion): a U-Net of residual blocks (GroupNorm → SiLU → 3×3 conv, the timestep
// embedding added in between, GroupNorm → SiLU → dropout → 3×3 conv), self-attention blocks at the resolutions up
// to `attentionMax` (16×16 and below in the paper) and in the middle, 2× down-sampling by strided convs and
// up-sampling by nearest neighbours and a conv, skip connections from every block of the way down to the way up.
// The timestep t enters as a sinusoidal embedding (the Transformer's positional encoding) through a two-layer MLP.
//
// The last conv of every residual branch, every attention output and the output conv start at zero (as in the
// paper): each block starts as the identity and the net as ε̂ = 0, so the first loss is exactly E[ε²] = 1.
import { Conv2d, Dropout, GroupNorm, Linear, Module, SelfAttention } from "../nn/index.js";
import { type Tensor, arange, cat, check, expected, interpolate, noGrad } from "../tensor/index.js";
import { isPositiveInt } from "../errors.js";

export interface UNetConfig {
  /** Channels at the first resolution; the timestep embedding has 4× as many. Even (the sinusoids pair up). */
  width: number;
  /** Channels per resolution as multiples of width, top down: "1,2,2" = 32×32 ×1, 16×16 ×2, 8×8 ×2. */
  channelMults: string;
  /** Residual blocks per resolution on the way down (one more on the way up, for the down-sampler's skip). */
  resBlocks: number;
  /** Self-attention after each residual block at every resolution up to this side, and in the middle (0: none). */
  attentionMax: number;
  heads: number;
  dropout: number;
  /** GroupNorm groups; must divide width. */
  groups: number;
}

/** "1,2,2" → [1, 2, 2]; an error naming hps.channelMults otherwise. */
function parseMults(spec: string): number[] {
  const mults = spec.split(",").map((s) => Number(s.trim()));
  if (!mults.length || !mults.every(isPositiveInt))
    throw expected('positive integers separated by commas, e.g. "1,2,2"', "hps.channelMults", spec);
  return mults;
}

export function validateUNet(cfg: UNetConfig): void {
  for (const k of ["width", "resBlocks", "heads", "groups"] as const)
    if (!isPositiveInt(cfg[k])) throw expected("positive integer", `hps.${k}`, cfg[k]);
  if (cfg.width % 2) throw expected("an even number (sin and cos pairs)", "hps.width", cfg.width);
  if (cfg.width % cfg.groups) throw expected(`a divisor of width=${cfg.width}`, "hps.groups", cfg.groups);
  if (!(Number.isInteger(cfg.attentionMax) && cfg.attentionMax >= 0))
    throw expected("a non-negative integer", "hps.attentionMax", cfg.attentionMax);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1))
    throw expected("a number in [0, 1)", "hps.dropout", cfg.dropout);
  for (const m of parseMults(cfg.channelMults))
    if ((cfg.width * m) % cfg.heads)
      throw expected(`a divisor of every level's channels (${cfg.width}·${m})`, "hps.heads", cfg.heads);
}

/** Timesteps (B) → (B, dim): [sin(t·f_i), cos(t·f_i)] with f_i = 10000^(−i / (dim/2)), i < dim/2. */
export function timestepEmbedding(t: Tensor, dim: number): Tensor {
  check(dim % 2 === 0, () => `timestepEmbedding: dim must be even, got ${dim}`);
  const half = dim / 2;
  const freqs = arange(0, half, 1, { dtype: "float32" })
    .mul(-Math.log(10000) / half)
    .exp();
  const args = t.to("float32").unsqueeze(1).mul(freqs.unsqueeze(0)); // (B, 1) · (1, half) → (B, half)
  return cat([args.sin(), args.cos()], 1);
}

function zeroInit<M extends Conv2d | Linear>(m: M): M {
  noGrad(() => {
    m.weight.zero_();
    m.bias?.zero_();
  });
  return m;
}

class ResBlock extends Module {
  norm1: GroupNorm;
  conv1: Conv2d;
  time: Linear;
  norm2: GroupNorm;
  drop: Dropout;
  conv2: Conv2d;
  /** A 1×1 conv on the skip path when the channels change. */
  skip: Conv2d | null;

  constructor(cin: number, cout: number, embDim: number, cfg: UNetConfig) {
    super();
    this.norm1 = new GroupNorm(cfg.groups, cin);
    this.conv1 = new Conv2d(cin, cout, 3, { padding: 1 });
    this.time = new Linear(embDim, cout);
    this.norm2 = new GroupNorm(cfg.groups, cout);
    this.drop = new Dropout(cfg.dropout);
    this.conv2 = zeroInit(new Conv2d(cout, cout, 3, { padding: 1 }));
    this.skip = cin === cout ? null : new Conv2d(cin, cout, 1);
  }

  /** emb: SiLU of the timestep embedding, (B, embDim). */
  forward(x: Tensor, emb: Tensor): Tensor {
    let h = this.conv1.forward(this.norm1.forward(x).silu());
    h = h.add(this.time.forward(emb).unsqueeze(-1).unsqueeze(-1)); // (B, C) → (B, C, 1, 1)
    h = this.conv2.forward(this.drop.forward(this.norm2.forward(h).silu()));
    return (this.skip ? this.skip.forward(x) : x).add(h);
  }
}

/** Self-attention over the H·W positions of a feature map, residual. */
export class AttentionBlock extends Module {
  norm: GroupNorm;
  attn: SelfAttention;

  constructor(channels: number, cfg: UNetConfig) {
    super();
    this.norm = new GroupNorm(cfg.groups, channels);
    this.attn = new SelfAttention(channels, cfg.heads);
    zeroInit(this.attn.proj);
  }

  forward(x: Tensor): Tensor {
    const [B, C, H, W] = x.shape as [number, number, number, number];
    const seq = this.norm.forward(x).flatten(2).transpose(1, 2); // (B, C, H, W) → (B, H·W, C)
    return x.add(this.attn.forward(seq).transpose(1, 2).reshape(B, C, H, W));
  }
}

/** One resolution's blocks (each with its attention block, or null) and the resampler after them. */
class Level extends Module {
  blocks: ResBlock[] = [];
  attention: (AttentionBlock | null)[] = [];
  resample: Conv2d | null = null;
}

export class UNet extends Module {
  embed1: Linear;
  embed2: Linear;
  input: Conv2d;
  down: Level[] = [];
  mid1: ResBlock;
  midAttention: AttentionBlock | null;
  mid2: ResBlock;
  up: Level[] = [];
  outNorm: GroupNorm;
  output: Conv2d;
  /** Channels of the timestep embedding (4 · width). */
  readonly embDim: number;

  constructor(
    readonly cfg: UNetConfig,
    o: { inChannels: number; outChannels: number; size: number },
  ) {
    super();
    validateUNet(cfg);
    const mults = parseMults(cfg.channelMults);
    const factor = 2 ** (mults.length - 1);
    if (o.size % factor)
      throw expected(
        `fewer levels: the image side ${o.size} does not halve ${mults.length - 1} times`,
        "hps.channelMults",
        cfg.channelMults,
      );
    const w = cfg.width;
    this.embDim = 4 * w;
    this.embed1 = new Linear(w, this.embDim);
    this.embed2 = new Linear(this.embDim, this.embDim);
    this.input = new Conv2d(o.inChannels, w, 3, { padding: 1 });
    const attends = (res: number) => (res <= cfg.attentionMax ? 1 : 0);
    // The channels of every skip connection, in the order the way down makes them.
    const skips = [w];
    let ch = w,
      res = o.size;
    mults.forEach((m, i) => {
      const level = new Level();
      for (let j = 0; j < cfg.resBlocks; j++) {
        level.blocks.push(new ResBlock(ch, w * m, this.embDim, cfg));
        ch = w * m;
        level.attention.push(attends(res) ? new AttentionBlock(ch, cfg) : null);
        skips.push(ch);
      }
      if (i < mults.length - 1) {
        level.resample = new Conv2d(ch, ch, 3, { stride: 2, padding: 1 });
        skips.push(ch);
        res /= 2;
      }
      this.down.push(level);
    });
    this.mid1 = new ResBlock(ch, ch, this.embDim, cfg);
    this.midAttention = attends(res) ? new AttentionBlock(ch, cfg) : null;
    this.mid2 = new ResBlock(ch, ch, this.embDim, cfg);
    for (let i = mults.length - 1; i >= 0; i--) {
      const level = new Level();
      for (let j = 0; j <= cfg.resBlocks; j++) {
        level.blocks.push(new ResBlock(ch + skips.pop()!, w * mults[i]!, this.embDim, cfg));
        ch = w * mults[i]!;
        level.attention.push(attends(res) ? new AttentionBlock(ch, cfg) : null);
      }
      if (i > 0) {
        level.resample = new Conv2d(ch, ch, 3, { padding: 1 });
        res *= 2;
      }
      this.up.push(level);
    }
    this.outNorm = new GroupNorm(cfg.groups, ch);
    this.output = zeroInit(new Conv2d(ch, o.outChannels, 3, { padding: 1 }));
  }

  /**
   * x (B, inChannels, H, W), timesteps t (B) → (B, outChannels, H, W). `extra` (B, embDim), if given, is added to
   * the timestep embedding (a video model's frame index).
   */
  forward(x: Tensor, t: Tensor, extra: Tensor | null = null): Tensor {
    let e = this.embed2.forward(this.embed1.forward(timestepEmbedding(t, this.cfg.width)).silu());
    if (extra) e = e.add(extra);
    const emb = e.silu();
    let h = this.input.forward(x);
    const skips = [h];
    for (const level of this.down) {
      level.blocks.forEach((b, j) => {
        h = b.forward(h, emb);
        const a = level.attention[j];
        if (a) h = a.forward(h);
        skips.push(h);
      });
      if (level.resample) {
        h = level.resample.forward(h);
        skips.push(h);
      }
    }
    h = this.mid1.forward(h, emb);
    if (this.midAttention) h = this.midAttention.forward(h);
    h = this.mid2.forward(h, emb);
    for (const level of this.up) {
      level.blocks.forEach((b, j) => {
        h = b.forward(cat([h, skips.pop()!], 1), emb);
        const a = level.attention[j];
        if (a) h = a.forward(h);
      });
      if (level.resample) h = level.resample.forward(interpolate(h, { scaleFactor: 2 }));
    }
    return this.output.forward(this.outNorm.forward(h).silu());
  }
}
