// Pseudo-video operators for 1-D signals (audio, time series). Each maps signals x (N, C, L) and one strength per
// signal s (N,) in [0, 1] to corrupted signals, batched on tensors, with the image operators' contract
// (video/operators.ts): strength 0 is the identity, strength 1 the operator's end point, random parameters come
// from a separate `draw` on libtorch's global generator, so manualSeed makes every result reproducible.
//
//   noise    variance-preserving Gaussian noise, cos(πs/2)·x + sin(πs/2)·ε (the image operator, per sample)
//   blur     low-pass along time: a normalised Gaussian kernel of σ = s · sigma · L samples, edges replicated
//   mask     a contiguous span of s · L samples set to `fill`, at a random place
//   shift    delay or advance by s · distance · L samples (linear interpolation; silence enters)
//   fade     amplitude towards silence: (1 − s) · x
//   stretch  time-stretch by scale^s around a random point (resampling, so pitch moves with it), the view
//            staying inside the signal
//   band     a band of s · L DCT-II frequencies (orthonormal basis over the whole signal) removed, at a random
//            place in the spectrum. Cost O(L²) per signal and an L × L matrix: fine for time-series windows and
//            previews, heavy for 8,000-sample clips in training
import {
  type Tensor,
  check,
  conv2d,
  full,
  gridSample,
  pad,
  rand,
  arange,
  stack,
  where,
} from "../../tensor/index.js";
import { dctMatrix } from "../../video/bases.js";
import {
  type Operator,
  applyOperator,
  operators as imageOperators,
  resolveParamDefs,
} from "../../video/operators.js";

/** s (N,) → (N, 1, 1), to broadcast over signals. */
const perSignal = (s: Tensor) => s.reshape(-1, 1, 1);

/** An image operator that treats every sample alike, applied to signals seen as images of one row. */
function sampleWise(op: Operator): Operator {
  return {
    ...op,
    draw: (n, shape, p) => op.draw(n, [shape[0]!, 1, shape[1]!], p),
    apply: (x, s, d, p) => op.apply(x.unsqueeze(2), s, d, p).squeeze(2),
  };
}

/**
 * Indicator (N, 1, L) of the interval [u (1 − s) L, u (1 − s) L + s L) over index centres i + ½: a fraction s of
 * the L positions at a place set by u ∈ [0, 1), nothing at s = 0, everything at s = 1.
 */
function interval(u: Tensor, s: Tensor, length: number, like: Tensor): Tensor {
  const centres = arange(0, length, 1, { dtype: like.dtype }).add(0.5).reshape(1, 1, length);
  const start = perSignal(u.mul(s.neg().add(1)).mul(length));
  return centres.ge(start).logicalAnd(centres.lt(start.add(perSignal(s).mul(length))));
}

/** Samples x (N, C, L) at fractional positions pos (N, L) in sample units, linearly; outside reads 0. */
function resampleAt(x: Tensor, pos: Tensor): Tensor {
  const [n, , length] = x.shape;
  // grid_sample with align_corners = false: normalised coordinate (2p + 1) / L − 1 is sample p.
  const gx = pos.mul(2).add(1).div(length!).sub(1);
  const grid = stack([gx, gx.mul(0)], -1).reshape(n!, 1, length!, 2);
  return gridSample(x.unsqueeze(2), grid.to(x.dtype), {
    mode: "bilinear",
    padding: "zeros",
    alignCorners: false,
  }).squeeze(2);
}

const positions = (n: number, length: number, like: Tensor) =>
  arange(0, length, 1, { dtype: like.dtype }).reshape(1, length).expand(n, length);

// Blur: σ → 0 gives the one-hot kernel (every other tap underflows to exactly 0), so strength 0 is exact.
const blur: Operator = {
  help: "low-pass along time: Gaussian kernel of σ = s · sigma · L samples, edges replicated",
  params: { sigma: { help: "σ at strength 1, as a fraction of the length", default: 0.05, min: 0, max: 1 } },
  draw: () => null,
  apply(x, s, _d, p) {
    const [n, c, length] = x.shape;
    const sigma = s.mul((p.sigma as number) * length!);
    const r = Math.ceil(3 * sigma.max().item());
    const taps = arange(-r, r + 1, 1, { dtype: x.dtype }).reshape(1, 2 * r + 1);
    const k = taps.square().div(sigma.clamp(1e-6).square().mul(2).unsqueeze(1)).neg().exp();
    const kernels = k.div(k.sum(1, true)); // (N, K)
    const weight = kernels
      .unsqueeze(1)
      .expand(n!, c!, 2 * r + 1)
      .reshape(n! * c!, 1, 1, 2 * r + 1);
    const padded = pad(x.reshape(1, n! * c!, 1, length!), [r, r, 0, 0], { mode: "replicate" });
    return conv2d(padded, weight, null, { groups: n! * c! }).reshape(n!, c!, length!);
  },
};

const mask: Operator = {
  help: "set a contiguous span of s · L samples to a fill value, at a random place",
  params: { fill: { help: "the value of masked samples", default: 0, min: -1, max: 1 } },
  draw: (n) => rand([n]),
  apply(x, s, u, p) {
    return where(interval(u!, s, x.size(2), x), full([], p.fill as number, { dtype: x.dtype }), x);
  },
};

const shift: Operator = {
  help: "delay or advance (at random) by s · distance · L samples; silence enters",
  params: {
    distance: { help: "shift at strength 1, as a fraction of the length", default: 0.5, min: 0, max: 1 },
  },
  draw: (n) => rand([n]).lt(0.5).to("float32").mul(2).sub(1),
  apply(x, s, sign, p) {
    const [n, , length] = x.shape;
    const d = s
      .mul(sign!.to(s.dtype))
      .mul((p.distance as number) * length!)
      .unsqueeze(1);
    return resampleAt(x, positions(n!, length!, x).sub(d));
  },
};

const fade: Operator = {
  help: "amplitude towards silence: (1 − s) · x",
  params: {},
  draw: () => null,
  apply: (x, s) => x.mul(perSignal(s).neg().add(1)),
};

const stretch: Operator = {
  help: "time-stretch by scale^s around a random point (resampled: pitch moves with it)",
  params: { scale: { help: "stretch factor at strength 1", default: 2, min: 1, max: 64 } },
  draw: (n) => rand([n]),
  apply(x, s, u, p) {
    const [n, , length] = x.shape;
    // p(t) = c + (t − c) / f with c in [0, L − 1] and f ≥ 1 stays inside [0, L − 1]: the view never leaves.
    const inv = s
      .mul(-Math.log(p.scale as number))
      .exp()
      .unsqueeze(1);
    const c = u!.mul(length! - 1).unsqueeze(1);
    return resampleAt(x, c.add(positions(n!, length!, x).sub(c).mul(inv)));
  },
};

const band: Operator = {
  help: "remove a band of s · L DCT frequencies at a random place in the spectrum",
  params: {},
  draw: (n) => rand([n]),
  apply(x, s, u) {
    const length = x.size(2);
    const d = dctMatrix(length, x.dtype); // rows are frequencies
    const removed = x.matmul(d.t()).mul(interval(u!, s, length, x).to(x.dtype));
    // x minus the removed band (not the kept coefficients transformed back), so strength 0 is exactly x.
    return x.sub(removed.matmul(d));
  },
};

export const seriesOperators = {
  noise: sampleWise(imageOperators.noise),
  blur,
  mask,
  shift,
  fade,
  stretch,
  band,
} satisfies Record<string, Operator>;
export type SeriesOperatorName = keyof typeof seriesOperators;
export const seriesOperatorNames = Object.keys(seriesOperators) as SeriesOperatorName[];

/**
 * Applies one 1-D operator to signals (N, C, L) with a strength per signal (N,) or one for all, drawing its
 * random parameters afresh.
 */
export function corruptSeries(
  name: SeriesOperatorName,
  x: Tensor,
  strength: Tensor | number,
  params: Record<string, unknown> = {},
): Tensor {
  const op = seriesOperators[name];
  check(
    op !== undefined,
    () =>
      `corruptSeries: unknown operator ${JSON.stringify(name)} (valid: ${seriesOperatorNames.join(", ")})`,
  );
  check(x.rank === 3, () => `corruptSeries: signals must be rank 3 (N, C, L), got shape [${x.shape}]`);
  return applyOperator(op, x, strength, resolveParamDefs(name, op.params, params, name), "corruptSeries");
}
