// A mixture of discretised logistics over 8-bit pixels (PixelCNN++, Salimans et al. 2017; the output layer of
// VDVAE). Each pixel has `mixtures` components shared by its channels; within a component channel c is a
// logistic whose mean is shifted linearly by the channels before it (c' < c), so colours are correlated without
// an autoregressive network. Pixel values k = 0..255 sit at x = k/127.5 − 1 in [−1, 1]; each owns a bin of width
// 2/255, the two extreme bins extend to ±∞, so the probabilities of the 256 values sum to exactly 1.
import { Conv2d, Module } from "../nn/index.js";
import { type Tensor, cat, noGrad, rand, stack, where } from "../tensor/index.js";

const HALF_BIN = 1 / 255;

/** Parameters of the mixture, split from the output conv: logits (B, M, H, W), the rest (B, C, M, H, W). */
interface Mixture {
  logits: Tensor;
  means: Tensor;
  logScales: Tensor;
  /** Channel couplings in (−1, 1): coupling k links channel c to channel c' < c, in order (1,0), (2,0), (2,1), … */
  coefs: Tensor[];
}

export class DiscretisedLogistics extends Module {
  conv: Conv2d;
  readonly channels: number;
  readonly mixtures: number;

  constructor(width: number, channels: number, mixtures: number) {
    super();
    this.channels = channels;
    this.mixtures = mixtures;
    const couplings = (channels * (channels - 1)) / 2;
    this.conv = new Conv2d(width, mixtures * (1 + 2 * channels + couplings), 1);
  }

  /** Output channels → (logits, means, log scales, couplings). */
  #split(h: Tensor): Mixture {
    const [B, , H, W] = h.shape as [number, number, number, number];
    const C = this.channels,
      M = this.mixtures;
    const logits = h.narrow(1, 0, M);
    // (B, C·M, H, W) → (B, C, M, H, W)
    const means = h.narrow(1, M, C * M).reshape(B, C, M, H, W);
    // Scales below e^-7 make the bins numerically one-hot; the clamp keeps gradients alive.
    const logScales = h
      .narrow(1, M * (1 + C), C * M)
      .reshape(B, C, M, H, W)
      .clamp(-7, null);
    const coefs: Tensor[] = [];
    for (let k = 0, at = M * (1 + 2 * C); k < (C * (C - 1)) / 2; k++, at += M)
      coefs.push(h.narrow(1, at, M).tanh());
    return { logits, means, logScales, coefs };
  }

  /**
   * Channel c's component means (B, M, H, W) after adding the couplings to the earlier channels' values: true
   * or sampled pixels (B, 1, H, W), or per-component means (B, M, H, W).
   */
  #coupled(p: Mixture, earlier: Tensor[], c: number): Tensor {
    let mean = p.means.select(1, c);
    earlier.forEach((xPrev, prev) => {
      const k = (c * (c - 1)) / 2 + prev;
      mean = mean.add(p.coefs[k]!.mul(xPrev));
    });
    return mean;
  }

  /** log p(x) per pixel (B, H, W), channels summed, for x (B, C, H, W) on the 8-bit grid in [−1, 1]. */
  logProb(h: Tensor, x: Tensor): Tensor {
    const p = this.#split(this.conv.forward(h));
    const xs = x.unbind(1).map((xc) => xc.unsqueeze(1)); // (B, 1, H, W): broadcasts against the components
    let logp = p.logits.logSoftmax(1);
    for (let c = 0; c < this.channels; c++) {
      const xc = xs[c]!;
      const logS = p.logScales.select(1, c);
      const centred = xc.sub(this.#coupled(p, xs.slice(0, c), c));
      const inv = logS.neg().exp();
      const plusIn = inv.mul(centred.add(HALF_BIN));
      const minIn = inv.mul(centred.sub(HALF_BIN));
      // log σ(a) = a − softplus(a) and log(1 − σ(b)) = −softplus(b): the two open-ended edge bins.
      const logCdfPlus = plusIn.sub(plusIn.softplus());
      const logSurvivalMin = minIn.softplus().neg();
      const delta = plusIn.sigmoid().sub(minIn.sigmoid());
      // Where the bin mass underflows float32, use the density at the bin centre times the bin width.
      const midIn = inv.mul(centred);
      const logPdfMid = midIn.sub(logS).sub(midIn.softplus().mul(2)).sub(Math.log(127.5));
      const inner = where(delta.gt(1e-5), delta.clamp(1e-12, null).log(), logPdfMid);
      logp = logp.add(where(xc.lt(-0.999), logCdfPlus, where(xc.gt(0.999), logSurvivalMin, inner)));
    }
    return logp.logsumexp(1);
  }

  /**
   * Samples x (B, C, H, W) in [−1, 1]: a component per pixel (Gumbel-max), then each channel in order. With
   * `mean`, each pixel is instead the mixture's expected value (channel couplings applied per component): the
   * picture of what the latents encode, without the per-pixel noise a short-trained likelihood still has.
   */
  sample(h: Tensor, mean = false): Tensor {
    return noGrad(() => {
      const p = this.#split(this.conv.forward(h));
      if (mean) {
        const weights = p.logits.softmax(1);
        const perComponent: Tensor[] = [];
        for (let c = 0; c < this.channels; c++) perComponent.push(this.#coupled(p, perComponent, c));
        return stack(
          perComponent.map((m) => m.mul(weights).sum([1]).clamp(-1, 1)),
          1,
        );
      }
      const gumbel = rand(p.logits.shape)
        .clamp(1e-5, 1 - 1e-5)
        .log()
        .neg()
        .log()
        .neg();
      const pick = p.logits.add(gumbel).argmax(1, true); // (B, 1, H, W)
      const choose = (t: Tensor) => t.gather(1, pick).squeeze(1);
      const xs: Tensor[] = [];
      for (let c = 0; c < this.channels; c++) {
        const centre = choose(this.#coupled(p, xs, c));
        const u = rand(centre.shape).clamp(1e-5, 1 - 1e-5);
        const logistic = u.log().sub(u.neg().log1p()); // logit(u): a standard logistic sample
        xs.push(
          centre
            .add(choose(p.logScales.select(1, c)).exp().mul(logistic))
            .clamp(-1, 1)
            .unsqueeze(1),
        );
      }
      return cat(xs, 1);
    });
  }
}
