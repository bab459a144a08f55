// Corruption operators. Each maps images x (N, C, H, W) in [-1, 1] and one strength per image s (N,) in [0, 1]
// to corrupted images, batched on tensors. Strength 0 is the identity and strength 1 the operator's end point
// (pure noise, the mean colour, a fully masked image, …); in between, each operator maps s through its own
// parameterisation, written beside it. Random parameters (noise, mask cells, directions) come from a separate
// `draw` so the caller can draw them once per video or afresh for every frame (pseudo.ts), always from
// libtorch's global generator: manualSeed and getRngState make every video reproducible and resumable.
import {
  type Tensor,
  affineGrid,
  check,
  expected,
  full,
  gridSample,
  rand,
  randn,
  stack,
  tensor,
  tidy,
  where,
} from "../tensor/index.js";
import { dctMatrix, heatEigenvalues, pixelateMatrices, separable } from "./bases.js";

/** Operator parameters after validation: every key present. */
export type Params = Record<string, number | string>;

export type ParamDef =
  | { help: string; default: number; min: number; max: number }
  | { help: string; default: string; choices: readonly string[] };

export interface Operator {
  readonly help: string;
  readonly params: Readonly<Record<string, ParamDef>>;
  /** Random parameters for n images of shape [C, H, W], or null for a deterministic operator. */
  draw(n: number, shape: readonly number[], p: Params): Tensor | null;
  apply(x: Tensor, s: Tensor, draw: Tensor | null, p: Params): Tensor;
  /**
   * Only for operators that form a semigroup (applying strengths a then b equals applying one combined
   * strength): the per-step strength that takes a frame at marginal strength `from` to marginal strength `to`.
   * Chains use it to follow a schedule of marginal strengths with a first-order Markov chain.
   */
  step?(from: number, to: number): number;
}

/** s (N,) → (N, 1, 1, 1), to broadcast over images. */
const perImage = (s: Tensor) => s.reshape(-1, 1, 1, 1);

const padding = {
  help: "what the sampling grid reads outside the image",
  default: "zeros",
  choices: ["zeros", "border", "reflection"],
} as const;

// ***** noise *****

// Variance-preserving Gaussian noise (DDPM): x ↦ cos(πs/2) x + sin(πs/2) ε. The signal and noise scales are
// the cosine and sine of one angle, so signal² + noise² = 1 at every strength, and a linear schedule of
// strengths is exactly the cosine schedule of ᾱ (Nichol & Dhariwal 2021) without its offset.
const noise: Operator = {
  help: "variance-preserving Gaussian noise: cos(πs/2)·x + sin(πs/2)·ε",
  params: {},
  draw: (n, shape) => randn([n, ...shape]),
  apply(x, s, eps) {
    const angle = perImage(s).mul(Math.PI / 2);
    // cos(π/2) is 6e-17, not 0: strength 1 must carry no trace of x.
    const signal = angle.cos().mul(perImage(s).lt(1).to(x.dtype));
    return x.mul(signal).add(eps!.mul(angle.sin()));
  },
  step(from, to) {
    const cosFrom = Math.cos((Math.PI / 2) * from);
    if (cosFrom <= 1e-12) return 1;
    const ratio = Math.min(1, Math.cos((Math.PI / 2) * to) / cosFrom);
    return (2 / Math.PI) * Math.acos(ratio);
  },
};

// ***** blur (heat dissipation) *****

// Gaussian blur as heat dissipation (IHDM, Rissanen et al. 2023): in the DCT basis the heat equation with
// reflecting boundaries multiplies coefficient (k, l) by exp(-(λ_k + λ_l) τ), and τ = σ²/2 is a Gaussian blur of
// standard deviation σ pixels. σ grows linearly with strength: σ = s · sigma · min(H, W). Blurs compose as
// σ² adds up, which the chain step below uses.
const blur: Operator = {
  help: "Gaussian blur by heat dissipation in the DCT basis, σ = s · sigma · min(H, W) pixels",
  params: {
    sigma: {
      help: "σ at strength 1, as a fraction of the shorter image side",
      default: 0.5,
      min: 0,
      max: 10,
    },
  },
  draw: () => null,
  apply(x, s, _draw, p) {
    const [, , h, w] = x.shape;
    const sigma = s.mul((p.sigma as number) * Math.min(h!, w!));
    const tau = sigma.square().div(2).unsqueeze(1); // (N, 1)
    return separable(x, heatOperator(h!, tau, x), heatOperator(w!, tau, x));
  },
  step: (from, to) => Math.sqrt(Math.max(0, to * to - from * from)),
};

/** Per-image heat operators (N, n, n) = Dᵀ diag(exp(-λ τ)) D for diffusion times τ (N, 1). */
function heatOperator(n: number, tau: Tensor, like: Tensor): Tensor {
  const d = dctMatrix(n, like.dtype);
  const decay = heatEigenvalues(n, like.dtype).unsqueeze(0).mul(tau).neg().exp(); // (N, n)
  return d.t().unsqueeze(0).mul(decay.unsqueeze(1)).matmul(d);
}

// ***** pixelate *****

// Down-then-up sampling: average over r × r cells, then repeat each cell. The number of cells per side falls
// geometrically with strength, r = round(n^(1-s)): every doubling of the cell size costs the same strength.
// Strength 1 leaves one cell, the mean colour.
const pixelate: Operator = {
  help: "average over cells and repeat them: round(n^(1-s)) cells per side of n pixels",
  params: {},
  draw: () => null,
  apply(x, s) {
    const [, , h, w] = x.shape;
    return separable(x, pixelateMatrix(h!, s, x), pixelateMatrix(w!, s, x));
  },
};

/** Per-image pixelation matrices (N, n, n) for strengths s (N,). */
function pixelateMatrix(n: number, s: Tensor, like: Tensor): Tensor {
  const cells = s.neg().add(1).mul(Math.log(n)).exp().round().clamp(1, n);
  return pixelateMatrices(n, like.dtype).indexSelect(0, cells.sub(1).long());
}

// ***** mask *****

// Masking sets a fraction s of the pixels to a fill value. "patches": a grid of square cells, each masked when
// its uniform draw u < s, so the masks of one draw grow with s (nested), and fresh draws give unrelated masks;
// "box": a centred square of area s; "rows": the bottom fraction s of the rows. Structured masks grow
// deterministically with s.
const mask: Operator = {
  help: "set a fraction s of the pixels to a fill value: random patches, a centred box or the bottom rows",
  params: {
    shape: { help: "which pixels go first", default: "patches", choices: ["patches", "box", "rows"] },
    patch: { help: "patch side as a fraction of the shorter image side", default: 0.125, min: 0, max: 1 },
    fill: { help: "the value of masked pixels (0 is mid grey)", default: 0, min: -1, max: 1 },
  },
  draw(n, [, h, w], p) {
    if (p.shape !== "patches") return null;
    const side = patchSide(h!, w!, p);
    return rand([n, 1, Math.ceil(h! / side), Math.ceil(w! / side)]);
  },
  apply(x, s, u, p) {
    const [, , h, w] = x.shape;
    const level = perImage(s);
    let masked: Tensor;
    if (p.shape === "patches") {
      const side = patchSide(h!, w!, p);
      const [n, , gh, gw] = u!.shape;
      // (N, 1, gh, gw) → (N, 1, gh·side, gw·side): each cell covers side × side pixels, cropped to (H, W)
      masked = u!.lt(level).reshape(n!, 1, gh!, 1, gw!, 1).expand(n!, 1, gh!, side, gw!, side);
      masked = masked
        .reshape(n!, 1, gh! * side, gw! * side)
        .slice(2, 0, h!)
        .slice(3, 0, w!);
    } else if (p.shape === "box") {
      // Pixel centres in (-1, 1); the box |y|, |x| < √s has area s.
      const [ys, xs] = pixelCentres(h!, w!, x);
      masked = ys.abs().maximum(xs.abs()).lt(level.sqrt());
    } else {
      const ys = pixelCentres(h!, w!, x)[0].add(1).div(2); // (0, 1), top to bottom
      masked = ys.gt(level.neg().add(1));
    }
    return where(masked, full([], p.fill as number, { dtype: x.dtype }), x);
  },
};

function patchSide(h: number, w: number, p: Params): number {
  return Math.max(1, Math.round((p.patch as number) * Math.min(h, w)));
}

/** Normalised pixel-centre coordinates, y (1, 1, H, 1) and x (1, 1, 1, W), in (-1, 1). */
function pixelCentres(h: number, w: number, like: Tensor): [Tensor, Tensor] {
  const centres = (n: number) =>
    tensor(
      Array.from({ length: n }, (_, i) => (2 * i + 1) / n - 1),
      undefined,
      { dtype: like.dtype },
    );
  return [centres(h).reshape(1, 1, h, 1), centres(w).reshape(1, 1, 1, w)];
}

// ***** colour *****

// Desaturation moves each pixel towards its luma (ITU-R BT.601 weights) linearly in s; fading moves every
// pixel towards the image's mean colour. Neither is random. Grey images have nothing to desaturate.
const desaturate: Operator = {
  help: "move colours towards grey (BT.601 luma) by s",
  params: {},
  draw: () => null,
  apply(x, s) {
    if (x.size(1) !== 3) return x.clone();
    const luma = x
      .mul(tensor([0.299, 0.587, 0.114], undefined, { dtype: x.dtype }).reshape(1, 3, 1, 1))
      .sum(1, true);
    return x.add(luma.sub(x).mul(perImage(s)));
  },
};

const fade: Operator = {
  help: "move every pixel towards the image's mean colour by s",
  params: {},
  draw: () => null,
  apply(x, s) {
    return x.add(x.mean([2, 3], true).sub(x).mul(perImage(s)));
  },
};

// ***** geometry (affine sampling grids) *****

// Shift, zoom and rotate resample the image through an affine grid (bilinear). Each draws its direction once:
// a shift angle, a zoom centre, a rotation sign. Shift moves the content by s · distance of the image side;
// zoom magnifies by scale^s around a point chosen so the view stays inside the image; rotate turns by
// s · angle degrees.
const shift: Operator = {
  help: "translate by s · distance of the image side in a random direction",
  params: {
    distance: { help: "shift at strength 1, as a fraction of the image side", default: 0.5, min: 0, max: 2 },
    padding,
  },
  draw: (n) => rand([n]).mul(2 * Math.PI),
  apply(x, s, angle, p) {
    // The grid spans 2 units per image side; sampling at p - d moves the content by +d.
    const d = s.mul(-2 * (p.distance as number));
    const zero = s.mul(0);
    const one = zero.add(1);
    return resample(x, [one, zero, d.mul(angle!.cos()), zero, one, d.mul(angle!.sin())], p.padding as string);
  },
};

const zoom: Operator = {
  help: "magnify by scale^s around a random point, keeping the view inside the image",
  params: {
    scale: { help: "magnification at strength 1", default: 4, min: 1, max: 64 },
    padding: { ...padding, default: "border" },
  },
  draw: (n) => rand([n, 2]).mul(2).sub(1),
  apply(x, s, centre, p) {
    const inv = s.mul(-Math.log(p.scale as number)).exp(); // 1 / zoom
    const zero = s.mul(0);
    const reach = inv.neg().add(1); // how far the view's centre may move from the image centre
    const [cx, cy] = centre!.unbind(1);
    return resample(x, [inv, zero, cx!.mul(reach), zero, inv, cy!.mul(reach)], p.padding as string);
  },
};

const rotate: Operator = {
  help: "rotate by s · angle degrees, clockwise or anticlockwise at random",
  params: { angle: { help: "rotation at strength 1, in degrees", default: 180, min: 0, max: 360 }, padding },
  draw: (n) => rand([n]).lt(0.5).to("float32").mul(2).sub(1),
  apply(x, s, sign, p) {
    const [, , h, w] = x.shape;
    const a = s.mul(sign!.to(s.dtype)).mul(((p.angle as number) * Math.PI) / 180);
    const zero = s.mul(0);
    // Normalised coordinates stretch non-square images; the aspect factors keep the rotation rigid.
    return resample(
      x,
      [a.cos(), a.sin().mul(-h! / w!), zero, a.sin().mul(w! / h!), a.cos(), zero],
      p.padding as string,
    );
  },
};

/** Samples x through per-image affine maps given as six (N,) rows of θ = [[a, b, c], [d, e, f]]. */
function resample(x: Tensor, rows: Tensor[], pad: string): Tensor {
  const [n, c, h, w] = x.shape;
  const theta = stack(rows, 1).reshape(n!, 2, 3).to(x.dtype);
  const grid = affineGrid(theta, [n!, c!, h!, w!], false);
  return gridSample(x, grid, {
    mode: "bilinear",
    padding: pad as "zeros" | "border" | "reflection",
    alignCorners: false,
  });
}

// ***** the registry *****

export const operators = {
  noise,
  blur,
  pixelate,
  mask,
  desaturate,
  fade,
  shift,
  zoom,
  rotate,
} satisfies Record<string, Operator>;
export type OperatorName = keyof typeof operators;
export const operatorNames = Object.keys(operators) as OperatorName[];

/** Validates an operator's parameters (unknown keys, types, ranges) and fills in the defaults. */
export function resolveParams(name: OperatorName, given: Record<string, unknown>, where: string): Params {
  return resolveParamDefs(name, operators[name].params, given, where);
}

/** The same for any operator's parameter definitions (the 1-D operators of modality/series share it). */
export function resolveParamDefs(
  name: string,
  defs: Readonly<Record<string, ParamDef>>,
  given: Record<string, unknown>,
  where: string,
): Params {
  for (const key of Object.keys(given)) {
    if (!(key in defs)) {
      const valid = Object.keys(defs);
      throw expected(
        valid.length ? `a parameter of ${name} (${valid.join(", ")})` : `no parameters for ${name}`,
        `${where}.${key}`,
        key,
      );
    }
  }
  const out: Params = {};
  for (const [key, def] of Object.entries(defs)) {
    const v = given[key] ?? def.default;
    if ("choices" in def) {
      if (typeof v !== "string" || !def.choices.includes(v))
        throw expected(`one of ${def.choices.join(", ")}`, `${where}.${key}`, v);
    } else if (typeof v !== "number" || !Number.isFinite(v) || v < def.min || v > def.max) {
      throw expected(`number in [${def.min}, ${def.max}]`, `${where}.${key}`, v);
    }
    out[key] = v;
  }
  return out;
}

/**
 * Applies one operator to images (N, C, H, W) with a strength per image (N,) or one for all, drawing its random
 * parameters afresh. The building block for users and tests; pseudo.ts calls the operators directly.
 */
export function corrupt(
  name: OperatorName,
  x: Tensor,
  strength: Tensor | number,
  params: Record<string, unknown> = {},
): Tensor {
  const op = operators[name];
  check(
    op !== undefined,
    () => `corrupt: unknown operator ${JSON.stringify(name)} (valid: ${operatorNames.join(", ")})`,
  );
  check(x.rank === 4, () => `corrupt: images must be rank 4 (N, C, H, W), got shape [${x.shape}]`);
  return applyOperator(op, x, strength, resolveParams(name, params, name), "corrupt");
}

/** Applies `op` with resolved params to x with a strength per item (N,) or one for all; `what` names the caller. */
export function applyOperator(
  op: Operator,
  x: Tensor,
  strength: Tensor | number,
  p: Params,
  what: string,
): Tensor {
  return tidy(() => {
    const n = x.size(0);
    const s =
      typeof strength === "number"
        ? full([n], checkStrength(strength, "strength"), { dtype: x.dtype })
        : strength.to(x.dtype);
    check(s.rank === 1 && s.size(0) === n, () => `${what}: expected ${n} strengths, got shape [${s.shape}]`);
    return op.apply(x, s, op.draw(n, x.shape.slice(1), p), p);
  });
}

export function checkStrength(v: unknown, name: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 1)
    throw expected("strength in [0, 1]", name, v);
  return v;
}
