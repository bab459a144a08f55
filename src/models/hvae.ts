// A VDVAE-style hierarchical VAE (Child 2021, "Very Deep VAEs"; openai/vdvae) and its video counterpart, in one
// code path (Chen et al. 2024, "Your Image is Secretly the Last Frame of a Pseudo Video").
//
// Image model: a bottom-up encoder of residual bottleneck blocks records activations at every resolution; a
// top-down decoder walks the latent groups from 1×1 up to the image size. Each group has a prior p(z_i | z_<i)
// computed from the top-down state alone and a posterior q(z_i | z_<i, x) that also sees the encoder's
// activations at that resolution; both are diagonal Gaussians, so the per-group KL is analytic. The final state
// parameterises a mixture of discretised logistics over 8-bit pixels (dmol.ts). All statistics are in nats per
// data dimension (the loop converts to bits/dim).
//
// Video model: the same hierarchy, weights shared by every frame, frames batched as B·T. Frame t's decoder adds a
// context from earlier frames to the top-down state of every group (before prior, posterior and decoder see
// it): `first-order` uses the encoder activations of v_{t−1} only; `full` adds the running mean of v_1 … v_{t−1}.
// The context comes from the same encoder the posterior uses (it is computed for every frame anyway), so the
// new parameters are one bias-free 1×1 conv per group and a learned embedding of the frame index per group (added
// to the state with the context: without it frames 2 … T would have to guess their position from the context),
// all zero-initialised: a fresh video model scores every frame exactly as the image model would, and with T = 1
// the model has neither — it *is* the image model, same parameters, same loss. `context: "none"` keeps only the
// frame index: one image model over all frames told which frame it draws (distribution augmentation, the "more
// augmented data" control). Training minimises Σ_t w_t · (−ELBO(v_t | v_<t)) with teacher forcing, the weights
// from `lastFrameWeight` (model.ts frameWeights); sampling draws v_1 … v_T in order and the image is v_T.
//
// Exposure bias: teacher forcing conditions on true frames, sampling on drawn ones. Two remedies, both off by
// default: `contextNoise` adds Gaussian noise (std in pixel units of [−1, 1]) to the frames the context is computed
// from during training (conditioning augmentation, a second encoder pass), and sampling can build the context from
// the likelihood's mean pixels instead of the drawn pixels (`context: "mean"` among the sample settings).
//
// Stabilisers (VDVAE): the prior's last conv starts at zero (p = N(0, 1) at first), residual branches and the
// latent projections are scaled by √(1/depth), every conv bias starts at zero; the loop adds gradient clipping,
// skipping of huge or non-finite updates and EMA weights.
import { Conv2d, Module } from "../nn/index.js";
import {
  type Tensor,
  ArgumentError,
  adaptiveAvgPool2d,
  avgPool2d,
  cat,
  check,
  expected,
  interpolate,
  noGrad,
  pad,
  randnLike,
  stack,
  tidy,
  zeros,
} from "../tensor/index.js";
import { isPositiveInt } from "../errors.js";
import { resolveHps } from "./hps.js";
import { DiscretisedLogistics } from "./dmol.js";
import {
  type DataShape,
  type LossOutput,
  type ModelFamily,
  type SampleSettings,
  type TrainableModel,
  type TrainDefaults,
  LAST_FRAME_WEIGHT,
  frameStats,
  frameWeights,
  weightedFrameMean,
} from "./model.js";

// ***** configuration *****

export interface HVAEConfig {
  /** Channels of the residual stream, at every resolution. */
  width: number;
  /** Inner width of a residual block as a fraction of `width` (VDVAE's bottleneck_multiple). */
  bottleneck: number;
  /** Channels of each latent group. */
  zdim: number;
  /** Bottom-up blocks: "32x2" = two blocks at 32×32; "32d2" = one block, then 2× average-pool down to 16×16. */
  enc: string;
  /** Latent groups, top-down: "4x2" = two groups at 4×4; "8m4" = a group at 8×8 that starts from the 4×4 state. */
  dec: string;
  /** Components of the discretised logistic mixture. */
  mixtures: number;
  /** Video models only: what frame t sees of earlier frames ("none": only its index). */
  context: "first-order" | "full" | "none";
  /** Video models only: the last frame's share of the loss (λ); earlier frames share 1 − λ. 0: 1/T, all alike. */
  lastFrameWeight: number;
  /** Video models only: std of the noise added to the context's frames in training (0: none). */
  contextNoise: number;
}

export const contexts = ["first-order", "full", "none"] as const;

export const defaults: HVAEConfig = {
  width: 32,
  bottleneck: 0.25,
  zdim: 8,
  enc: "32x2,32d2,16x2,16d2,8x2,8d2,4x2,4d4,1x1",
  dec: "1x1,4m1,4x1,8m4,8x1,16m8,16x1,32m16,32x1",
  mixtures: 5,
  context: "full",
  lastFrameWeight: LAST_FRAME_WEIGHT,
  contextNoise: 0,
};

export const hps = {
  // Seconds per hundred steps: for tests and smoke runs.
  tiny: {
    ...defaults,
    width: 16,
    zdim: 4,
    enc: "32d2,16d2,8d2,4d4,1x1",
    dec: "1x1,4m1,8m4,16m8,32m16",
    mixtures: 3,
  },
  // Minutes: a quick look at a data set.
  small: { ...defaults },
  // An hour on 2 cores: recognisable MNIST / Fashion-MNIST digits and CIFAR-10 blobs.
  standard: {
    ...defaults,
    width: 64,
    zdim: 16,
    // Few blocks at 32×32, where a block costs 4× one at 16×16: most latent groups sit at 16 and below.
    enc: "32x1,32d2,16x2,16d2,8x2,8d2,4x2,4d4,1x2",
    dec: "1x2,4m1,4x2,8m4,8x3,16m8,16x3,32m16",
    mixtures: 10,
  },
} satisfies Record<string, HVAEConfig>;

/** Training settings per preset (VDVAE's: AdamW with β2 = 0.9, warm-up, clip at 200, skip above a threshold). */
export const trainDefaults: Record<keyof typeof hps, TrainDefaults> = {
  tiny: { lr: 2e-3, batch: 32, warmup: 20, emaDecay: 0.99 },
  small: { lr: 1e-3, batch: 32, warmup: 100, emaDecay: 0.999 },
  standard: { lr: 8e-4, batch: 32, warmup: 200, emaDecay: 0.999 },
};

interface EncToken {
  res: number;
  /** 1 for a plain block, else the pooling factor after it. */
  down: number;
}
interface DecToken {
  res: number;
  /** The resolution whose state this group starts from (upsampled), or null. */
  mixin: number | null;
}

function badToken(field: string, spec: string, token: string, form: string): ArgumentError {
  return new ArgumentError(
    `Bad token ${JSON.stringify(token)} in hps.${field} ${JSON.stringify(spec)}: expected ${form}`,
  );
}

/** "32x2,32d2,16x1" → blocks with their resolutions; resolutions must follow from the pooling. */
export function parseEnc(spec: string, size: number | null = null): EncToken[] {
  const out: EncToken[] = [];
  for (const token of spec.split(",")) {
    const m = /^(\d+)([xd])(\d+)$/.exec(token.trim());
    if (!m || Number(m[1]) < 1 || Number(m[3]) < 1)
      throw badToken("enc", spec, token, "<res>x<count> or <res>d<rate>");
    const res = Number(m[1]),
      n = Number(m[3]);
    const at = out.length ? out[out.length - 1]!.res / out[out.length - 1]!.down : (size ?? res);
    if (res !== at)
      throw badToken("enc", spec, token, `a block at resolution ${at} (the resolution reached so far)`);
    if (m[2] === "x") for (let i = 0; i < n; i++) out.push({ res, down: 1 });
    else if (res % n) throw badToken("enc", spec, token, `a rate that divides ${res}`);
    else out.push({ res, down: n });
  }
  return out;
}

/** "1x1,4m1,4x2" → latent groups; a mixin must name a lower resolution already visited. */
export function parseDec(spec: string): DecToken[] {
  const out: DecToken[] = [];
  for (const token of spec.split(",")) {
    const m = /^(\d+)([xm])(\d+)$/.exec(token.trim());
    if (!m || Number(m[1]) < 1 || Number(m[3]) < 1)
      throw badToken("dec", spec, token, "<res>x<count> or <res>m<from>");
    const res = Number(m[1]),
      n = Number(m[3]);
    if (m[2] === "x") for (let i = 0; i < n; i++) out.push({ res, mixin: null });
    else if (n >= res || res % n || !out.some((t) => t.res === n))
      throw badToken(
        "dec",
        spec,
        token,
        `a mixin from a lower resolution that divides ${res} and comes earlier`,
      );
    else out.push({ res, mixin: n });
  }
  return out;
}

// ***** blocks *****

/** A conv with zero bias and its weight scaled (VDVAE's get_conv with zero_bias). */
function conv(cin: number, cout: number, k: number, scale = 1): Conv2d {
  const c = new Conv2d(cin, cout, k, { padding: (k - 1) / 2 });
  noGrad(() => {
    c.bias!.zero_();
    c.weight.mul_(scale);
  });
  return c;
}

/** GELU → 1×1 → GELU → 3×3 → GELU → 3×3 → GELU → 1×1, optionally residual, then average-pool down. */
class Block extends Module {
  c1: Conv2d;
  c2: Conv2d;
  c3: Conv2d;
  c4: Conv2d;
  readonly residual: boolean;
  readonly down: number;

  /** `lastScale` scales the last conv: √(1/depth) on residual branches, 0 for the prior (see header). */
  constructor(
    cin: number,
    mid: number,
    cout: number,
    o: { residual: boolean; res: number; down?: number; lastScale?: number },
  ) {
    super();
    // Below 3×3 a 3×3 kernel only sees padding: use 1×1 there, as VDVAE does.
    const k = o.res > 2 ? 3 : 1;
    this.c1 = conv(cin, mid, 1);
    this.c2 = conv(mid, mid, k);
    this.c3 = conv(mid, mid, k);
    this.c4 = conv(mid, cout, 1, o.lastScale ?? 1);
    this.residual = o.residual;
    this.down = o.down ?? 1;
  }

  forward(x: Tensor): Tensor {
    let h = this.c1.forward(x.gelu());
    h = this.c2.forward(h.gelu());
    h = this.c3.forward(h.gelu());
    h = this.c4.forward(h.gelu());
    const out = this.residual ? x.add(h) : h;
    return this.down > 1 ? avgPool2d(out, this.down) : out;
  }
}

class Encoder extends Module {
  stem: Conv2d;
  blocks: Block[];

  constructor(cfg: HVAEConfig, channels: number, tokens: EncToken[]) {
    super();
    const mid = innerWidth(cfg);
    this.stem = conv(channels, cfg.width, 3);
    const scale = Math.sqrt(1 / tokens.length);
    this.blocks = tokens.map(
      (t) =>
        new Block(cfg.width, mid, cfg.width, { residual: true, res: t.res, down: t.down, lastScale: scale }),
    );
  }

  /** Activations by resolution: the output of the last block at each one. */
  forward(x: Tensor): Map<number, Tensor> {
    let h = this.stem.forward(x);
    const acts = new Map<number, Tensor>([[h.size(2), h]]);
    for (const b of this.blocks) {
      h = b.forward(h);
      acts.set(h.size(2), h);
    }
    return acts;
  }
}

/**
 * Picks the frame-index embeddings (T, C, 1, 1) for a batch: every frame of B videos, frame-major within a video
 * (B·T rows), when training; one frame t for all rows when sampling.
 */
type FrameIndex = (time: Tensor) => Tensor;
const everyFrame =
  (B: number): FrameIndex =>
  (time) =>
    time.repeat(B, 1, 1, 1); // (T, C, 1, 1) → (B·T, C, 1, 1)
const oneFrame =
  (t: number): FrameIndex =>
  (time) =>
    time.narrow(0, t, 1);

/** A latent group's distributions and its KL per example (summed over the group's dimensions). */
export interface Group {
  kl: Tensor;
  q: [mean: Tensor, logStd: Tensor];
  p: [mean: Tensor, logStd: Tensor];
}

/** KL(N(qm, e^qs) ‖ N(pm, e^ps)) elementwise, for log standard deviations qs, ps. */
export function gaussianKL(qm: Tensor, qs: Tensor, pm: Tensor, ps: Tensor): Tensor {
  // ½ (σq² + (μq − μp)²) / σp² + log σp − log σq − ½
  const num = qs.mul(2).exp().add(qm.sub(pm).square());
  return num.mul(ps.mul(-2).exp()).mul(0.5).add(ps).sub(qs).sub(0.5);
}

class DecBlock extends Module {
  /** The posterior's net: q(z | top-down state, encoder activations). */
  enc: Block;
  /** The prior's net: p(z | top-down state), plus a residual update of the state. */
  prior: Block;
  zproj: Conv2d;
  resnet: Block;
  readonly res: number;
  readonly mixin: number | null;
  readonly zdim: number;
  /** Video models: the context of earlier frames, added to the state (absent for T = 1 and context "none"). */
  ctx?: Conv2d;
  /** Video models: an embedding per frame index (T, width, 1, 1), added to the state (absent for T = 1). */
  time?: Tensor;

  constructor(cfg: HVAEConfig, token: DecToken, depth: number, contextWidth: number, frames: number) {
    super();
    const w = cfg.width,
      mid = innerWidth(cfg),
      scale = Math.sqrt(1 / depth);
    this.res = token.res;
    this.mixin = token.mixin;
    this.zdim = cfg.zdim;
    this.enc = new Block(2 * w, mid, 2 * cfg.zdim, { residual: false, res: token.res });
    // Zero last conv: the prior starts as N(0, 1) and the state update at zero, so early KLs are tame.
    this.prior = new Block(w, mid, 2 * cfg.zdim + w, { residual: false, res: token.res, lastScale: 0 });
    this.zproj = conv(cfg.zdim, w, 1, scale);
    this.resnet = new Block(w, mid, w, { residual: true, res: token.res, lastScale: scale });
    if (contextWidth > 0) {
      this.ctx = new Conv2d(contextWidth, w, 1, { bias: false });
      noGrad(() => this.ctx!.weight.zero_()); // the video model starts as the image model (see header)
    }
    if (frames > 1) this.time = this.param(zeros([frames, w, 1, 1])); // zero for the same reason
  }

  #withContext(x: Tensor, context: Tensor | null, frame: FrameIndex): Tensor {
    if (this.time) x = x.add(frame(this.time));
    return this.ctx && context ? x.add(this.ctx.forward(context)) : x;
  }

  /** Prior means, log-stds and the state update, split from the prior net's output. */
  #prior(x: Tensor): [Tensor, Tensor, Tensor] {
    const f = this.prior.forward(x);
    return [
      f.narrow(1, 0, this.zdim),
      f.narrow(1, this.zdim, this.zdim),
      f.narrow(1, 2 * this.zdim, f.size(1) - 2 * this.zdim),
    ];
  }

  /** Posterior pass: z ~ q, KL(q ‖ p) summed per example. */
  forward(x: Tensor, acts: Tensor, context: Tensor | null, frame: FrameIndex): { x: Tensor; group: Group } {
    x = this.#withContext(x, context, frame);
    const q = this.enc.forward(cat([x, acts], 1));
    const qm = q.narrow(1, 0, this.zdim),
      qs = q.narrow(1, this.zdim, this.zdim);
    const [pm, ps, update] = this.#prior(x);
    x = x.add(update);
    const z = qm.add(qs.exp().mul(randnLike(qm)));
    const kl = gaussianKL(qm, qs, pm, ps).sum([1, 2, 3]);
    x = this.resnet.forward(x.add(this.zproj.forward(z)));
    return { x, group: { kl, q: [qm, qs], p: [pm, ps] } };
  }

  /** Generative pass: z ~ p with its standard deviation scaled by the temperature. */
  sample(x: Tensor, context: Tensor | null, frame: FrameIndex, temperature: number): Tensor {
    x = this.#withContext(x, context, frame);
    const [pm, ps, update] = this.#prior(x);
    x = x.add(update);
    const z = pm.add(ps.exp().mul(randnLike(pm)).mul(temperature));
    return this.resnet.forward(x.add(this.zproj.forward(z)));
  }
}

class Decoder extends Module {
  blocks: DecBlock[];
  /** The learnt starting state of each resolution, in order of first use (VDVAE's bias_xs). */
  start: Tensor[];
  /** Per-channel affine on the final state before the likelihood (VDVAE's final_fn). */
  gain: Tensor;
  shift: Tensor;
  readonly resolutions: number[];

  constructor(cfg: HVAEConfig, tokens: DecToken[], contextWidth: number, frames: number) {
    super();
    this.blocks = tokens.map((t) => new DecBlock(cfg, t, tokens.length, contextWidth, frames));
    this.resolutions = [...new Set(tokens.map((t) => t.res))];
    this.start = this.resolutions.map((r) => this.param(zeros([1, cfg.width, r, r])));
    this.gain = this.param(zeros([1, cfg.width, 1, 1]).add(1));
    this.shift = this.param(zeros([1, cfg.width, 1, 1]));
  }

  /**
   * Runs every group top-down for a batch of n; `step` performs one group (posterior or prior pass) on the
   * group's state. Returns the final state, ready for the likelihood.
   */
  #run(n: number, step: (b: DecBlock, x: Tensor) => Tensor): Tensor {
    const state = new Map<number, Tensor>();
    for (const b of this.blocks) {
      let x = state.get(b.res) ?? this.start[this.resolutions.indexOf(b.res)]!.expand(n, -1, -1, -1);
      if (b.mixin !== null) x = x.add(interpolate(state.get(b.mixin)!, { scaleFactor: b.res / b.mixin }));
      state.set(b.res, step(b, x));
    }
    return state
      .get(this.resolutions[this.resolutions.length - 1]!)!
      .mul(this.gain)
      .add(this.shift);
  }

  forward(
    acts: Map<number, Tensor>,
    context: Map<number, Tensor> | null,
    frame: FrameIndex,
  ): { h: Tensor; groups: Group[] } {
    const groups: Group[] = [];
    const n = acts.values().next().value!.size(0);
    const h = this.#run(n, (b, x) => {
      const out = b.forward(x, acts.get(b.res)!, context?.get(b.res) ?? null, frame);
      groups.push(out.group);
      return out.x;
    });
    return { h, groups };
  }

  sample(n: number, context: Map<number, Tensor> | null, frame: FrameIndex, temperature: number): Tensor {
    return this.#run(n, (b, x) => b.sample(x, context?.get(b.res) ?? null, frame, temperature));
  }
}

function addMaps(a: Map<number, Tensor>, b: Map<number, Tensor>): Map<number, Tensor> {
  return new Map([...a].map(([r, t]): [number, Tensor] => [r, t.add(b.get(r)!)]));
}

function checkStage(stage: string): void {
  check(stage === "main", () => `hvae has one stage, "main", not ${JSON.stringify(stage)}`);
}

function innerWidth(cfg: HVAEConfig): number {
  return Math.max(1, Math.round(cfg.width * cfg.bottleneck));
}

// ***** the model *****

export class HVAE extends Module implements TrainableModel {
  readonly stages = ["main"] as const;
  enc: Encoder;
  dec: Decoder;
  out: DiscretisedLogistics;
  readonly cfg: HVAEConfig;
  readonly shape: DataShape;
  readonly weights: number[];

  constructor(preset: HVAEConfig, shape: DataShape) {
    super();
    const cfg = fitToSize(preset, shape.size);
    this.cfg = cfg;
    this.shape = shape;
    const encTokens = parseEnc(cfg.enc, shape.size);
    const decTokens = parseDec(cfg.dec);
    const reached = new Set([shape.size, ...encTokens.map((t) => t.res / t.down)]);
    for (const t of decTokens)
      if (!reached.has(t.res))
        throw expected(`resolutions the encoder reaches (${[...reached].join(", ")})`, "hps.dec", cfg.dec);
    const top = decTokens[decTokens.length - 1]!.res;
    if (top !== shape.size)
      throw expected(`a decoder that ends at the image size ${shape.size}, not ${top}`, "hps.dec", cfg.dec);
    const contextWidth =
      shape.frames > 1 && cfg.context !== "none" ? (cfg.context === "full" ? 2 : 1) * cfg.width : 0;
    this.weights = frameWeights(shape.frames, cfg.lastFrameWeight);
    this.enc = new Encoder(cfg, shape.channels, encTokens);
    this.dec = new Decoder(cfg, decTokens, contextWidth, shape.frames);
    this.out = new DiscretisedLogistics(cfg.width, shape.channels, cfg.mixtures);
  }

  parametersFor(stage: string): Tensor[] {
    checkStage(stage);
    return this.parameters();
  }

  /** Context per resolution for every frame of (B·T) activations: frame 1 gets zeros (no earlier frames). */
  #context(acts: Map<number, Tensor>, B: number, T: number): Map<number, Tensor> | null {
    if (T === 1 || this.cfg.context === "none") return null;
    const out = new Map<number, Tensor>();
    for (const r of this.dec.resolutions) {
      const a = acts.get(r)!;
      const [, C, H, W] = a.shape as [number, number, number, number];
      const v = a.reshape(B, T, C, H, W); // (B·T, C, H, W) → (B, T, C, H, W)
      const none = zeros([B, 1, C, H, W]);
      let ctx = cat([none, v.narrow(1, 0, T - 1)], 1); // frame t sees v_{t−1}
      if (this.cfg.context === "full") {
        const counts = zeros([1, T - 1, 1, 1, 1])
          .add(1)
          .cumsum(1);
        const means = v
          .narrow(1, 0, T - 1)
          .cumsum(1)
          .div(counts); // mean of v_1 … v_{t−1}
        ctx = cat([ctx, cat([none, means], 1)], 2);
      }
      out.set(r, ctx.reshape(B * T, -1, H, W)); // (B, T, C', H, W) → (B·T, C', H, W)
    }
    return out;
  }

  /** log p per pixel (B·T, H, W) summed over the valid (unpadded) area → (B·T). */
  #logLikelihood(h: Tensor, x: Tensor): Tensor {
    let logp = this.out.logProb(h, x);
    const p = this.shape.pad ?? 0;
    if (p > 0) logp = logp.narrow(1, p, this.shape.size - 2 * p).narrow(2, p, this.shape.size - 2 * p);
    return logp.sum([1, 2]);
  }

  /** Data dimensions per frame that the likelihood covers. */
  get dims(): number {
    const s = this.shape.size - 2 * (this.shape.pad ?? 0);
    return this.shape.channels * s * s;
  }

  /** Per-frame distortion (−log p(v_t | z)) and rate (Σ KL) in nats per dimension, (B, T) each, plus the groups. */
  elbo(videos: Tensor): { distortion: Tensor; rate: Tensor; groups: Group[] } {
    const [B, T, C, H, W] = videos.shape as [number, number, number, number, number];
    check(
      T === this.shape.frames && C === this.shape.channels && H === this.shape.size && W === this.shape.size,
      () =>
        `hvae: expected videos (B, ${this.shape.frames}, ${this.shape.channels}, ${this.shape.size}, ${this.shape.size}), got [${videos.shape}]`,
    );
    const x = videos.reshape(B * T, C, H, W); // (B, T, C, H, W) → (B·T, C, H, W)
    const acts = this.enc.forward(x);
    // Conditioning augmentation: the context sees noisy copies of the earlier frames (a second encoder pass).
    const noisy = this.training && T > 1 && this.cfg.contextNoise > 0 && this.cfg.context !== "none";
    const contextActs = noisy ? this.enc.forward(x.add(randnLike(x).mul(this.cfg.contextNoise))) : acts;
    const { h, groups } = this.dec.forward(acts, this.#context(contextActs, B, T), everyFrame(B));
    const distortion = this.#logLikelihood(h, x).neg().div(this.dims).reshape(B, T);
    let kl = groups[0]!.kl;
    for (const g of groups.slice(1)) kl = kl.add(g.kl);
    return { distortion, rate: kl.div(this.dims).reshape(B, T), groups };
  }

  loss(videos: Tensor, stage: string): LossOutput {
    checkStage(stage);
    const { distortion, rate } = this.elbo(videos);
    const perFrame = distortion.add(rate); // −ELBO per frame, nats/dim
    const elbo = perFrame.mean();
    return {
      loss: weightedFrameMean(perFrame, this.weights),
      stats: {
        elbo,
        distortion: distortion.mean(),
        rate: rate.mean(),
        bpd: elbo.div(Math.LN2),
        last_bpd: perFrame.select(1, -1).mean().div(Math.LN2),
      },
    };
  }

  evaluate(videos: Tensor, stage: string): Record<string, number> {
    checkStage(stage);
    return noGrad(() =>
      tidy(() => {
        const { distortion, rate } = this.elbo(videos);
        const perFrame = distortion.add(rate);
        const last = perFrame.select(1, -1).mean().item() / Math.LN2;
        return {
          bpd: perFrame.mean().item() / Math.LN2,
          last_bpd: last,
          last_bpd_given_true: last,
          rate_bpd: rate.mean().item() / Math.LN2,
          ...frameStats(perFrame, "frame_bpd", 1 / Math.LN2),
        };
      }),
    );
  }

  lastGivenGenerated(videos: Tensor, opts: SampleSettings = {}): Tensor {
    return noGrad(() =>
      tidy(() => {
        const T = this.shape.frames;
        // The model's own frames 1 … T − 1 (its draw of the last frame is discarded), then the true last frame.
        const drawn = this.sample(videos.size(0), { context: opts.context });
        const hybrid = T === 1 ? videos : cat([drawn.narrow(1, 0, T - 1), videos.narrow(1, T - 1, 1)], 1);
        const { distortion, rate } = this.elbo(hybrid);
        return distortion.add(rate).select(1, -1).div(Math.LN2);
      }),
    );
  }

  /** Sets the padded border of frames (B, C, H, W) back to −1, as the loader pads. */
  #clearPad(x: Tensor): Tensor {
    const p = this.shape.pad ?? 0;
    if (p === 0) return x;
    const inner = x.narrow(2, p, this.shape.size - 2 * p).narrow(3, p, this.shape.size - 2 * p);
    return pad(inner, [p, p, p, p], { value: -1 });
  }

  sample(n: number, opts: SampleSettings = {}): Tensor {
    const temperature = opts.temperature ?? 1;
    const mean = (opts.pixels ?? "sample") === "mean";
    const contextFromMean = (opts.context ?? "sample") === "mean";
    if (!isPositiveInt(n)) throw expected("positive integer", "n", n);
    if (!(temperature >= 0)) throw expected("a non-negative number", "temperature", temperature);
    return noGrad(() => {
      const frames: Tensor[] = [];
      let last: Map<number, Tensor> | null = null;
      let sums: Map<number, Tensor> | null = null;
      for (let t = 0; t < this.shape.frames; t++) {
        const context = last && this.#frameContext(last, sums!, t);
        const h = this.dec.sample(n, context, oneFrame(t), temperature);
        const x = this.#clearPad(this.out.sample(h, mean));
        frames.push(x);
        if (t + 1 < this.shape.frames && this.cfg.context !== "none") {
          const seen = contextFromMean && !mean ? this.#clearPad(this.out.sample(h, true)) : x;
          last = this.enc.forward(seen);
          sums = sums ? addMaps(sums, last) : last;
        }
      }
      return stack(frames, 1);
    });
  }

  /** The context of frame t (t ≥ 1) from the previous frame's activations and the running sums. */
  #frameContext(last: Map<number, Tensor>, sums: Map<number, Tensor>, t: number): Map<number, Tensor> {
    const out = new Map<number, Tensor>();
    for (const r of this.dec.resolutions)
      out.set(r, this.cfg.context === "full" ? cat([last.get(r)!, sums.get(r)!.div(t)], 1) : last.get(r)!);
    return out;
  }

  /**
   * The encoder's activations at every resolution, each average-pooled to at most 4×4 and flattened, then joined:
   * (B, C, H, W) → (B, D). The top (1×1) alone is a narrow view of what the encoder knows, and global pooling
   * would discard where things are, which the VQ encoder's features keep.
   */
  features(images: Tensor): Tensor {
    return noGrad(() => {
      const acts = this.enc.forward(images);
      const sizes = [...acts.keys()].sort((a, b) => b - a);
      return cat(
        sizes.map((r) => adaptiveAvgPool2d(acts.get(r)!, Math.min(r, 4)).flatten(1)),
        1,
      );
    });
  }
}

// ***** the family *****

/**
 * Presets are written for 32×32 images. For a larger image (CelebA at 64×64) each doubling adds one block that
 * pools 2× at the top of the encoder and one up-sampling latent group at the end of the decoder, so every preset
 * works at every power-of-two size; an enc that already starts at the image size is used as written.
 */
export function fitToSize(cfg: HVAEConfig, size: number): HVAEConfig {
  const top = Number(/^\s*(\d+)/.exec(cfg.enc)?.[1]);
  if (!(top < size) || !Number.isInteger(Math.log2(size / top))) return cfg;
  const encHead: string[] = [];
  const decTail: string[] = [];
  for (let r = top; r < size; r *= 2) {
    encHead.unshift(`${2 * r}d2`);
    decTail.push(`${2 * r}m${r}`);
  }
  return { ...cfg, enc: [...encHead, cfg.enc].join(","), dec: [cfg.dec, ...decTail].join(",") };
}

function validate(cfg: HVAEConfig): HVAEConfig {
  for (const k of ["width", "zdim", "mixtures"] as const)
    if (!isPositiveInt(cfg[k])) throw expected("positive integer", `hps.${k}`, cfg[k]);
  if (!(cfg.bottleneck > 0 && cfg.bottleneck <= 1))
    throw expected("a number in (0, 1]", "hps.bottleneck", cfg.bottleneck);
  if (!contexts.includes(cfg.context))
    throw expected(`one of ${contexts.join(", ")}`, "hps.context", cfg.context);
  frameWeights(2, cfg.lastFrameWeight); // validates λ
  if (!(cfg.contextNoise >= 0 && Number.isFinite(cfg.contextNoise)))
    throw expected("a non-negative number", "hps.contextNoise", cfg.contextNoise);
  parseEnc(cfg.enc);
  parseDec(cfg.dec);
  return cfg;
}

export const hvaeFamily: ModelFamily<HVAEConfig> = {
  name: "hvae",
  description: "VDVAE-style hierarchical VAE; its video counterpart conditions each frame on earlier ones",
  sampling: ["temperature", "pixels", "context"],
  bitsPerDim: true,
  hps,
  trainDefaults,
  resolve: (partial, preset) => resolveHps("hvae", hps, defaults, partial, preset, validate),
  create: (cfg, shape) => new HVAE(cfg, shape),
};
