// Stage 1 of the VQ-VAE family: a convolutional autoencoder whose latent grid is snapped to the nearest entry of
// a learned codebook (van den Oord et al. 2017, "Neural Discrete Representation Learning"). Down-sampling is
// 2^k with k = log2(size / grid): 4× for 32×32 images and 8× for 64×64 ones give an 8×8 grid of codes, which
// the transformer prior (vq-prior.ts, vq-video.ts) then models. The codebook learns either by exponential moving
// averages of the encoder outputs assigned to each code (the paper's appendix; Razavi et al. 2019) or by
// gradients with a straight-through estimator and a codebook loss. Either way a code that falls out of use is
// restarted from a random encoder output of the current batch (Dhariwal et al. 2020, Jukebox), which is also how
// the codebook is initialised from data: every code starts dead. The blocks follow Sonnet's VQ-VAE example.
import { Conv2d, ConvTranspose2d, Module, init } from "../nn/index.js";
import {
  type Tensor,
  ArgumentError,
  embedding,
  empty,
  full,
  mseLoss,
  noGrad,
  ones,
  randint,
  where,
  zeros,
} from "../tensor/index.js";

export interface VQVAEConfig {
  /** Channels of the encoder and decoder. */
  width: number;
  /** Residual blocks at the code resolution, in the encoder and in the decoder. */
  resBlocks: number;
  /** Bottleneck channels inside a residual block. */
  resWidth: number;
  /** Codebook entries K. */
  codes: number;
  /** Dimension D of a code vector. */
  codeDim: number;
  /** Side of the code grid; the image side must be grid · 2^k with k ≥ 1. */
  grid: number;
  /** "ema": moving-average codebook updates; "straight-through": gradient updates with a codebook loss. */
  codebook: "ema" | "straight-through";
  /** Weight of the commitment loss ‖z_e − sg(z_q)‖² that keeps encoder outputs near their codes. */
  beta: number;
  /** Decay of the moving averages (code counts, and code sums in "ema" mode). */
  decay: number;
  /** A code whose moving-average count of assignments per batch falls below this is restarted. */
  restartBelow: number;
}

export const defaults: VQVAEConfig = {
  width: 128,
  resBlocks: 2,
  resWidth: 32,
  codes: 512,
  codeDim: 64,
  grid: 8,
  codebook: "ema",
  beta: 0.25,
  decay: 0.99,
  // Jukebox's threshold: a code picked less than once per batch on average is dead.
  restartBelow: 1,
};

// ***** blocks *****

/** x + conv1×1(relu(conv3×3(relu(x)))): a bottlenecked residual block. */
class ResBlock extends Module {
  c1: Conv2d;
  c2: Conv2d;
  constructor(width: number, inner: number) {
    super();
    this.c1 = new Conv2d(width, inner, 3, { padding: 1 });
    this.c2 = new Conv2d(inner, width, 1);
  }
  forward(x: Tensor): Tensor {
    return x.add(this.c2.forward(this.c1.forward(x.relu()).relu()));
  }
}

function resStack(cfg: VQVAEConfig): ResBlock[] {
  return Array.from({ length: cfg.resBlocks }, () => new ResBlock(cfg.width, cfg.resWidth));
}

/** Images (N, C, S, S) → continuous latents z_e (N, D, S/2^k, S/2^k). */
class Encoder extends Module {
  down: Conv2d[];
  mid: Conv2d;
  res: ResBlock[];
  out: Conv2d;
  constructor(cfg: VQVAEConfig, channels: number, levels: number) {
    super();
    // Halve the resolution with 4×4 stride-2 convs; the early, high-resolution ones get half the channels.
    const widths = Array.from({ length: levels }, (_, i) => (i === levels - 1 ? cfg.width : cfg.width / 2));
    this.down = widths.map(
      (w, i) => new Conv2d(i === 0 ? channels : widths[i - 1]!, w, 4, { stride: 2, padding: 1 }),
    );
    this.mid = new Conv2d(cfg.width, cfg.width, 3, { padding: 1 });
    this.res = resStack(cfg);
    this.out = new Conv2d(cfg.width, cfg.codeDim, 1);
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const d of this.down) h = d.forward(h).relu();
    h = this.mid.forward(h);
    for (const r of this.res) h = r.forward(h);
    return this.out.forward(h.relu());
  }
}

/** Quantised latents (N, D, g, g) → images (N, C, g·2^k, g·2^k), unbounded (the loss pulls them into [-1, 1]). */
class Decoder extends Module {
  inp: Conv2d;
  res: ResBlock[];
  up: ConvTranspose2d[];
  constructor(cfg: VQVAEConfig, channels: number, levels: number) {
    super();
    this.inp = new Conv2d(cfg.codeDim, cfg.width, 3, { padding: 1 });
    this.res = resStack(cfg);
    const widths = Array.from({ length: levels }, (_, i) => (i === levels - 1 ? channels : cfg.width / 2));
    this.up = widths.map(
      (w, i) => new ConvTranspose2d(i === 0 ? cfg.width : widths[i - 1]!, w, 4, { stride: 2, padding: 1 }),
    );
  }
  forward(z: Tensor): Tensor {
    let h = this.inp.forward(z);
    for (const r of this.res) h = r.forward(h);
    h = h.relu();
    for (const [i, u] of this.up.entries()) h = i < this.up.length - 1 ? u.forward(h).relu() : u.forward(h);
    return h;
  }
}

// ***** the codebook *****

export interface Quantized {
  /** Codes with straight-through gradients to the encoder: z_e + sg(z_q − z_e), (N, D, g, g). */
  zq: Tensor;
  /** Code indices (N, g, g), int64. */
  indices: Tensor;
  /** Codebook-side losses, already weighted: β‖z_e − sg(z_q)‖² (+ ‖sg(z_e) − z_q‖² when straight-through). */
  loss: Tensor;
  /** exp(entropy) of the batch's code histogram: the effective number of codes in use. */
  perplexity: Tensor;
  /** Fraction of the codebook that the batch uses at least once. */
  usage: Tensor;
}

export class Codebook extends Module {
  /** The code vectors (K, D): a buffer moved by moving averages, or a parameter moved by gradients. */
  embed: Tensor;
  /** Moving average of how many vectors each code is assigned per batch (K): decides which codes are dead. */
  size: Tensor;
  /** "ema" only: moving average of the sum of the vectors assigned to each code (K, D); embed = sum / size. */
  sum: Tensor | null;

  constructor(readonly cfg: VQVAEConfig) {
    super();
    const { codes: K, codeDim: D } = cfg;
    const embed = init.uniform_(empty([K, D]), 1 / K);
    this.embed = cfg.codebook === "ema" ? this.buffer(embed) : this.param(embed);
    // Zero counts: every code is dead, so the first training batch restarts them all from encoder outputs.
    this.size = this.buffer(zeros([K]));
    this.sum = cfg.codebook === "ema" ? this.buffer(zeros([K, D])) : null;
  }

  /** Index of the nearest code (squared Euclidean distance) for each row of z (N, D) → (N). */
  nearest(z: Tensor): Tensor {
    return noGrad(() => {
      // ‖z − e‖² = ‖z‖² − 2 z·e + ‖e‖²; ‖z‖² is the same for every code and can be left out.
      const d = this.embed.square().sum(1).sub(z.matmul(this.embed.t()), 2);
      return d.argmin(1);
    });
  }

  /** Latents (N, D, g, g) → quantised latents; in training mode also moves the codebook (no gradients). */
  forward(ze: Tensor): Quantized {
    const [N, D, g] = ze.shape as [number, number, number];
    // (N, D, g, g) → (N·g·g, D)
    const flat = ze.permute(0, 2, 3, 1).reshape(-1, D);
    const idx = this.nearest(flat);
    const q = embedding(this.embed, idx);
    let loss = mseLoss(flat, q.detach()).mul(this.cfg.beta);
    if (this.cfg.codebook === "straight-through") loss = loss.add(mseLoss(flat.detach(), q));
    const { counts, perplexity, usage } = this.statistics(idx);
    if (this.training) this.update(flat.detach(), idx, counts);
    // (N·g·g, D) → (N, D, g, g), with the straight-through estimator: forward z_q, backward to z_e.
    const st = flat.add(q.sub(flat).detach());
    const zq = st.view(N, g, g, D).permute(0, 3, 1, 2);
    return { zq, indices: idx.view(N, g, g), loss, perplexity, usage };
  }

  /** How often each code occurs among indices (any shape), the histogram's perplexity and the codebook's usage. */
  statistics(indices: Tensor): { counts: Tensor; perplexity: Tensor; usage: Tensor } {
    const idx = indices.reshape(-1);
    const counts = zeros([this.cfg.codes]).scatterAdd(0, idx, ones([idx.size(0)]));
    const p = counts.div(idx.size(0));
    const perplexity = p.mul(p.add(1e-10).log()).sum().neg().exp();
    return { counts, perplexity, usage: counts.gt(0).float().mean() };
  }

  /** Code vectors for indices (…) → (…, D). */
  lookup(indices: Tensor): Tensor {
    return embedding(this.embed, indices);
  }

  /** One moving-average step from a batch's assignments, then restarts of dead codes. */
  update(z: Tensor, idx: Tensor, counts: Tensor): void {
    const { decay, restartBelow, codes: K, codeDim: D } = this.cfg;
    noGrad(() => {
      this.size.lerp_(counts, 1 - decay);
      const dead = this.size.lt(restartBelow);
      // A random encoder output of this batch for every code; only the dead codes take theirs.
      const fresh = z.index([randint(0, z.size(0), [K])]);
      const deadRows = dead.unsqueeze(1);
      if (this.sum) {
        const sums = zeros([K, D]).scatterAdd(0, idx.unsqueeze(1).expand(-1, D), z);
        this.sum.lerp_(sums, 1 - decay);
        // A restarted code counts as used exactly `restartBelow` times: it survives while picked that often.
        this.sum.copy_(where(deadRows, fresh.mul(restartBelow), this.sum));
        this.size.copy_(where(dead, full([K], restartBelow), this.size));
        // Laplace smoothing keeps a code with a near-zero count from dividing by zero.
        const n = this.size.sum();
        const smoothed = this.size
          .add(1e-5)
          .div(n.add(K * 1e-5))
          .mul(n);
        this.embed.copy_(this.sum.div(smoothed.unsqueeze(1)));
      } else {
        this.embed.copy_(where(deadRows, fresh, this.embed));
        this.size.copy_(where(dead, full([K], restartBelow), this.size));
      }
    });
  }
}

// ***** the autoencoder *****

export interface VQVAELoss {
  loss: Tensor;
  stats: { recon: Tensor; vq: Tensor; perplexity: Tensor; usage: Tensor };
}

export class VQVAE extends Module {
  enc: Encoder;
  vq: Codebook;
  dec: Decoder;

  constructor(
    readonly cfg: VQVAEConfig,
    readonly channels: number,
    readonly size: number,
  ) {
    super();
    const levels = Math.log2(size / cfg.grid);
    if (!Number.isInteger(levels) || levels < 1)
      throw new ArgumentError(
        `VQVAE: image size ${size} is not grid ${cfg.grid} times a power of two (2, 4, 8, …)`,
      );
    this.enc = new Encoder(cfg, channels, levels);
    this.vq = new Codebook(cfg);
    this.dec = new Decoder(cfg, channels, levels);
  }

  /** Images (N, C, S, S) in [-1, 1] → code indices (N, g, g). Never moves the codebook. */
  encode(x: Tensor): Tensor {
    return noGrad(() => {
      const ze = this.enc.forward(x);
      const [N, D, g] = ze.shape as [number, number, number];
      // (N, D, g, g) → (N·g·g, D)
      return this.vq.nearest(ze.permute(0, 2, 3, 1).reshape(-1, D)).view(N, g, g);
    });
  }

  /** Code indices (N, g, g) → images (N, C, S, S). */
  decode(indices: Tensor): Tensor {
    // (N, g, g, D) → (N, D, g, g)
    return this.dec.forward(this.vq.lookup(indices).permute(0, 3, 1, 2));
  }

  /** Reconstructions of x through the codebook, and the codebook's statistics. */
  forward(x: Tensor): Quantized & { recon: Tensor } {
    const q = this.vq.forward(this.enc.forward(x));
    return { ...q, recon: this.dec.forward(q.zq) };
  }

  /** Reconstruction MSE (in [-1, 1] units) plus the codebook losses. */
  loss(x: Tensor): VQVAELoss {
    const out = this.forward(x);
    const recon = mseLoss(out.recon, x);
    return {
      loss: recon.add(out.loss),
      stats: { recon, vq: out.loss, perplexity: out.perplexity, usage: out.usage },
    };
  }
}
