// Informativeness of a pseudo-video spec on a set of images, per frame: how close the frame is to the image
// (PSNR, SSIM), how much it varies between draws of the same image (diversity), and how much better it is
// predicted from all earlier frames than from the frame just before it (higher-order gain), and which spatial
// frequencies of the image survive in it (a signal-to-noise curve over DCT frequency bands, the way blurring
// diffusion reads blur: a blurred frame keeps the coarse bands and loses the fine ones). A first-order Markov
// chain has no higher-order gain; a spec whose earlier frames hold extra information about the image has a
// positive one.
import { type Tensor, cat, check, fromTyped, full, noGrad, raw, tensor, tidy } from "../tensor/index.js";
import { dct2, matmul2 } from "./bases.js";
import { makeVideos } from "./pseudo.js";
import type { VideoSpec } from "./spec.js";

// ***** image similarity *****

/** PSNR in dB of images (N, C, H, W) in [-1, 1] against references, per image (N,); identical images give 100. */
export function psnr(a: Tensor, b: Tensor): Tensor {
  return tidy(() => {
    const mse = a.sub(b).square().mean([1, 2, 3]);
    // Peak-to-peak range 2; the floor caps identical images at 100 dB instead of infinity.
    return mse
      .clamp(4e-10, null)
      .reciprocal()
      .mul(4)
      .log()
      .mul(10 / Math.LN10);
  });
}

/**
 * SSIM (Wang et al. 2004) of images (N, C, H, W) in [-1, 1] against references, per image (N,): Gaussian window
 * of 11 pixels and σ 1.5 (narrower for images under 11 pixels), K1 = 0.01, K2 = 0.03 on the [0, 1] scale,
 * averaged over channels and the positions where the window fits (no padding), as in the paper's code.
 */
export function ssim(a: Tensor, b: Tensor, opts: { window?: number; sigma?: number } = {}): Tensor {
  check(
    a.rank === 4 && a.shape.join() === b.shape.join(),
    () => `ssim: expected two (N, C, H, W) batches of one shape, got [${a.shape}] and [${b.shape}]`,
  );
  return tidy(() => {
    const [h, w] = a.shape.slice(2) as [number, number];
    let size = Math.min(opts.window ?? 11, h, w);
    if (size % 2 === 0) size -= 1;
    const sigma = opts.sigma ?? 1.5;
    const g = Array.from({ length: size }, (_, i) =>
      Math.exp(-((i - (size - 1) / 2) ** 2) / (2 * sigma * sigma)),
    );
    const sum = g.reduce((p, v) => p + v, 0);
    // The window as banded matrices (n - size + 1, n): row i weighs pixels i … i + size - 1, so one matrix
    // product per side filters every position where the window fits.
    const band = (n: number) => {
      const m = new Float32Array((n - size + 1) * n);
      for (let i = 0; i + size <= n; i++) g.forEach((v, j) => (m[i * n + i + j] = v / sum));
      return fromTyped(m, [n - size + 1, n]).to(a.dtype);
    };
    const [rows, cols] = [band(h), band(w)];
    const filter = (t: Tensor) => matmul2(t, rows, cols);
    const x = a.add(1).div(2);
    const y = b.add(1).div(2);
    const [c1, c2] = [0.01 ** 2, 0.03 ** 2];
    const mx = filter(x);
    const my = filter(y);
    const vx = filter(x.square()).sub(mx.square());
    const vy = filter(y.square()).sub(my.square());
    const cov = filter(x.mul(y)).sub(mx.mul(my));
    const num = mx.mul(my).mul(2).add(c1).mul(cov.mul(2).add(c2));
    const den = mx.square().add(my.square()).add(c1).mul(vx.add(vy).add(c2));
    return num.div(den).mean([1, 2, 3]);
  });
}

// ***** signal-to-noise per frequency *****

/** Bands of the SNR curve, of equal width in radial DCT frequency. */
const SNR_BANDS = 8;

/**
 * Band membership (H·W, bands) of the DCT coefficients (k, l) of an H × W image: radial frequency
 * r = √((k/H)² + (l/W)²), in [0, √2), banded in equal widths over [0, 1) with r ≥ 1 (the corners) in the last.
 */
function bandMatrix(h: number, w: number, bands: number): Tensor {
  const m = new Float32Array(h * w * bands);
  for (let k = 0; k < h; k++)
    for (let l = 0; l < w; l++) {
      const r = Math.hypot(k / h, l / w);
      m[(k * w + l) * bands + Math.min(bands - 1, Math.floor(r * bands))] = 1;
    }
  return fromTyped(m, [h * w, bands]);
}

/**
 * Energies per frequency band of images (N, C, H, W) and of frames' errors against them, summed over images and
 * channels: [signal (bands,), error (bands,)], in the orthonormal DCT basis (so they add up to the pixel-space
 * sums of squares). The SNR curve of a frame is 10 log10(signal / error) per band.
 */
function bandEnergies(frames: Tensor, images: Tensor, bands: number): [number[], number[]] {
  return tidy(() => {
    const [h, w] = images.shape.slice(2) as [number, number];
    const m = bandMatrix(h, w, bands);
    const energy = (x: Tensor) =>
      dct2(x)
        .square()
        .sum([0, 1])
        .reshape(1, h * w)
        .matmul(m)
        .reshape(bands);
    return [energy(images).toArray(), energy(frames.sub(images)).toArray()];
  });
}

/** 10 log10(signal / error) per band, capped at 100 dB (an exact band) as PSNR is. */
const snrDb = (signal: number[], error: number[]) =>
  signal.map((s, i) => (error[i]! <= s * 1e-10 ? 100 : Math.min(100, 10 * Math.log10(s / error[i]!))));

// ***** higher-order information *****

export interface HigherOrderGain {
  /** Per frame (frame 1 first): 1 - MSE(all earlier frames) / MSE(previous frame), null for frames 1 and 2. */
  perFrame: (number | null)[];
  /** The gain for the last frame (the image), null for T < 3. */
  last: number | null;
  /** The mean over frames 3 … T, null for T < 3. */
  mean: number | null;
}

/**
 * Estimates how much better frame t of videos (N, T, C, H, W) is predicted from frames 1 … t-1 than from frame
 * t-1 alone. Predictors are linear (with a bias) and per DCT coefficient: coefficient j of frame t from
 * coefficient j of the earlier frames, fitted by ridge regression on one half of the videos and scored on the
 * other (then the halves swap). For chains whose steps act on each DCT coefficient separately (noise, heat
 * blur) the earlier frames add only independent noise given frame t-1, so the population gain is exactly 0;
 * measured, it sits a little below 0, by about (t - 2) / (N / 2), the held-out cost of fitting more coefficients.
 * Fresh corruptions of the image give a clear gain.
 */
export function higherOrderGain(videos: Tensor, opts: { ridge?: number } = {}): HigherOrderGain {
  check(
    videos.rank === 5,
    () => `higherOrderGain: expected videos (N, T, C, H, W), got shape [${videos.shape}]`,
  );
  const [n, t] = videos.shape as [number, number];
  check(n >= 4, () => `higherOrderGain: expected at least 4 videos, got ${n}`);
  const ridge = opts.ridge ?? 1e-4;
  return noGrad(() =>
    tidy(() => {
      const half = n >> 1;
      const counts = [half, n - half];
      const grams = [gram(videos.narrow(0, 0, half)), gram(videos.narrow(0, half, n - half))];
      const bias = t;
      const perFrame: (number | null)[] = Array.from({ length: t }, (_, target) => {
        if (target < 2) return null;
        const prev = heldOutMse(grams, counts, [target - 1, bias], target, ridge);
        const all = heldOutMse(grams, counts, [...Array(target).keys(), bias], target, ridge);
        return prev > 1e-12 ? 1 - all / prev : 0;
      });
      const gains = perFrame.filter((g): g is number => g !== null);
      return {
        perFrame,
        last: t >= 3 ? perFrame[t - 1]! : null,
        mean: gains.length ? gains.reduce((a, g) => a + g, 0) / gains.length : null,
      };
    }),
  );
}

/**
 * Per-coefficient Gram matrices (P, T+1, T+1) of videos (N, T, C, H, W): for each of the P = C·H·W DCT
 * coefficients, the sums of products of its values in every pair of frames, with a constant last "frame" for
 * the bias. Everything the regressions need; accumulated over chunks of videos to keep the float64 copies small.
 */
function gram(videos: Tensor): Tensor {
  const [n, t, c, h, w] = videos.shape as [number, number, number, number, number];
  const p = c * h * w;
  let products: Tensor | null = null;
  let sums: Tensor | null = null;
  for (let start = 0; start < n; start += 64) {
    const size = Math.min(64, n - start);
    // (B, T, C, H, W) → (P, T, B) orthonormal DCT coefficients in float64 (the sums need it; the transform does not)
    const coef = dct2(videos.narrow(0, start, size))
      .reshape(size, t, p)
      .to("float64")
      .permute(2, 1, 0);
    const g = coef.matmul(coef.transpose(1, 2));
    const s1 = coef.sum(2);
    products = products === null ? g : products.add(g);
    sums = sums === null ? s1 : sums.add(s1);
  }
  const count = full([p, 1, 1], n, { dtype: "float64" });
  // [[ZᵀZ, Zᵀ1], [1ᵀZ, N]]
  const top = cat([products!, sums!.unsqueeze(2)], 2);
  return cat([top, cat([sums!.unsqueeze(1), count], 2)], 1);
}

/** Two-fold held-out MSE, summed over coefficients, of the ridge regression of `target` on `features`. */
function heldOutMse(
  grams: Tensor[],
  counts: number[],
  features: number[],
  target: number,
  ridge: number,
): number {
  const s = tensor(features, undefined, { dtype: "int64" });
  const y = tensor([target], undefined, { dtype: "int64" });
  const k = features.length;
  let squared = 0;
  for (let fold = 0; fold < 2; fold++) {
    const fit = grams[fold]!;
    const test = grams[1 - fold]!;
    const a = fit.indexSelect(1, s).indexSelect(2, s); // (P, k, k)
    const rhs = fit.indexSelect(1, s).indexSelect(2, y); // (P, k, 1)
    // Ridge scaled to each coefficient's energy, so flat and busy coefficients are regularised alike.
    const lambda = raw.diagonal(a, 0, 1, 2).sum(1).div(k).mul(ridge).reshape(-1, 1);
    const wts = solveSpd(a.add(raw.diagEmbed(lambda.expand(-1, k), 0, -2, -1)), rhs); // (P, k, 1)
    const ta = test.indexSelect(1, s).indexSelect(2, s);
    const tb = test.indexSelect(1, s).indexSelect(2, y);
    const tyy = test.indexSelect(1, y).indexSelect(2, y);
    // Σ (y - Xw)² = yᵀy - 2 wᵀXᵀy + wᵀXᵀXw, from the held-out fold's Gram matrix.
    const wt = wts.transpose(1, 2);
    squared += tyy.sub(wt.matmul(tb).mul(2)).add(wt.matmul(ta).matmul(wts)).sum().item() / counts[1 - fold]!;
  }
  return squared / 2;
}

/**
 * Solves a batch of small symmetric positive-definite systems a w = b, a (P, k, k), b (P, k, 1), by Gauss-Jordan
 * elimination without pivoting (safe for positive-definite matrices): k steps of a few batched operations,
 * cheaper than a LAPACK call per system for thousands of tiny systems.
 */
function solveSpd(a: Tensor, b: Tensor): Tensor {
  const k = a.size(1);
  let m = cat([a, b], 2); // (P, k, k + 1)
  for (let i = 0; i < k; i++) {
    const row = m.narrow(1, i, 1); // (P, 1, k + 1)
    const pivot = row.div(row.narrow(2, i, 1));
    // Clear column i from every row (row i becomes 0), then put the normalised pivot row back as row i.
    const unit = tensor(
      Array.from({ length: k }, (_, j) => (j === i ? 1 : 0)),
      undefined,
      { dtype: m.dtype },
    ).reshape(1, k, 1);
    m = m.sub(m.narrow(2, i, 1).sub(unit).mul(pivot));
  }
  return m.narrow(2, k, 1);
}

// ***** a spec on a data set *****

export interface FrameStats {
  /** 1 … T; frame T is the image. */
  frame: number;
  /** Mean PSNR (dB) and SSIM of the frame against the image, frames clamped to [-1, 1] as a viewer sees them. */
  psnr: number;
  ssim: number;
  /** Mean per-pixel standard deviation across draws of the same image, on the [0, 1] scale. */
  diversity: number;
  /**
   * Signal-to-noise ratio (dB) of the frame against the image in SNR_BANDS radial DCT frequency bands, coarsest
   * first: the image's energy in the band over the frame's error energy there, summed over images (100: exact).
   */
  snr: number[];
  /** Higher-order gain (see higherOrderGain), null for frames 1 and 2. */
  gain: number | null;
}

export interface SpecMetrics {
  spec: string;
  frames: number;
  images: number;
  draws: number;
  perFrame: FrameStats[];
  gain: { last: number | null; mean: number | null };
}

/** Measures a spec on images (N, C, H, W) in [-1, 1], `batch` images at a time, `draws` videos per image. */
export function measureSpec(
  images: Tensor,
  spec: VideoSpec,
  opts: { draws?: number; batch?: number } = {},
): SpecMetrics {
  const draws = opts.draws ?? 4;
  const batch = opts.batch ?? 64;
  const n = images.size(0);
  check(draws >= 2, () => `measureSpec: expected at least 2 draws for diversity, got ${draws}`);
  const t = spec.frames;
  const sums = { psnr: new Float64Array(t), ssim: new Float64Array(t), diversity: new Float64Array(t) };
  const signal = new Float64Array(SNR_BANDS);
  const error = Array.from({ length: t }, () => new Float64Array(SNR_BANDS));
  // Batches of `batch` images; a lone last image would have no other image to shuffle from, so it joins the
  // batch before it.
  const starts: number[] = [];
  for (let s = 0; s < n; s += batch) starts.push(s);
  if (starts.length > 1 && n - starts[starts.length - 1]! === 1) starts.pop();
  const kept: Tensor[] = [];
  try {
    starts.forEach((start, i) => {
      const size = (starts[i + 1] ?? n) - start;
      const first = noGrad(() =>
        tidy(() => {
          const x = images.narrow(0, start, size);
          // (draws·B, T, C, H, W) → (draws, B, T, C, H, W)
          const v = makeVideos(x.repeat(draws, 1, 1, 1), spec).reshape(draws, size, t, ...x.shape.slice(1));
          const spread = v.std(0, { correction: 1 }).mean([0, 2, 3, 4]).div(2).toArray();
          const shown = v.select(0, 0).clamp(-1, 1);
          for (let f = 0; f < t; f++) {
            const frame = shown.select(1, f);
            sums.psnr[f]! += psnr(frame, x).sum().item();
            sums.ssim[f]! += ssim(frame, x).sum().item();
            sums.diversity[f]! += spread[f]! * size;
            const [sig, err] = bandEnergies(frame, x, SNR_BANDS);
            err.forEach((e, b) => (error[f]![b]! += e));
            if (f === 0) sig.forEach((e, b) => (signal[b]! += e));
          }
          return v.select(0, 0).contiguous();
        }),
      );
      kept.push(first);
    });
    if (t >= 3 && n >= 4) kept.push(cat(kept, 0));
    const gain =
      t >= 3 && n >= 4
        ? higherOrderGain(kept[kept.length - 1]!)
        : { perFrame: Array<null>(t).fill(null), last: null, mean: null };
    return {
      spec: spec.name,
      frames: t,
      images: n,
      draws,
      perFrame: Array.from({ length: t }, (_, f) => ({
        frame: f + 1,
        psnr: sums.psnr[f]! / n,
        ssim: sums.ssim[f]! / n,
        diversity: sums.diversity[f]! / n,
        snr: snrDb([...signal], [...error[f]!]),
        gain: gain.perFrame[f] ?? null,
      })),
      gain: { last: gain.last, mean: gain.mean },
    };
  } finally {
    for (const k of kept) k.dispose();
  }
}
