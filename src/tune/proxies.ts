// Zero-training proxies: a spec's informativeness measured on images without training anything (the metrics of
// `lastframe video --metrics`, src/video/metrics.ts), reduced to one number per proxy so that hundreds of specs
// can be ranked in minutes. Each spec's videos are made and measured on tensors, a batch of images at a time,
// with libtorch's generator seeded per spec: a spec's scores do not depend on which specs were scored before it.
import { type Tensor, manualSeed } from "../tensor/index.js";
import { type FrameStats, type VideoSpec, measureSpec } from "../video/index.js";

/**
 * The scalar proxies, each oriented so that higher is predicted better:
 *   gain  the mean higher-order gain over frames 3 … T (how much the earlier frames add to the one before the
 *         image; 0 for first-order chains, and for T < 3)
 *   psnr  PSNR (dB) of frame T - 1, the frame the image is predicted from, against the image
 *   ssim  its SSIM
 *   snr   its SNR (dB) averaged over the frequency bands
 */
export const proxyNames = ["gain", "psnr", "ssim", "snr"] as const;
export type ProxyName = (typeof proxyNames)[number];

export interface ProxyScore {
  spec: string;
  scores: Record<ProxyName, number>;
  /** Per earlier frame (frame 1 first): PSNR, SSIM and the SNR curve over frequency bands (coarsest first). */
  curves: { psnr: number[]; ssim: number[]; snr: number[][] };
  ms: number;
}

export interface ProxyOptions {
  /** Videos drawn per image (at least 2). */
  draws: number;
  seed: number;
}

/** Scores one spec on images (N, C, H, W) in [-1, 1]. */
export function scoreSpec(images: Tensor, spec: VideoSpec, o: ProxyOptions): ProxyScore {
  const t0 = performance.now();
  manualSeed(o.seed);
  const m = measureSpec(images, spec, { draws: o.draws });
  const earlier: FrameStats[] = m.perFrame.slice(0, -1);
  // A spec without earlier frames (the image model): the image is predicted from nothing.
  const before = earlier[earlier.length - 1];
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return {
    spec: spec.name,
    scores: {
      gain: m.gain.mean ?? 0,
      psnr: before?.psnr ?? 0,
      ssim: before?.ssim ?? 0,
      snr: before ? mean(before.snr) : 0,
    },
    curves: {
      psnr: earlier.map((f) => f.psnr),
      ssim: earlier.map((f) => f.ssim),
      snr: earlier.map((f) => f.snr),
    },
    ms: Math.round(performance.now() - t0),
  };
}

/** Indices of `scores` from best to worst by one proxy; ties keep their order, so a ranking is deterministic. */
export function rankBy(scores: ProxyScore[], proxy: ProxyName): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[b]!.scores[proxy] - scores[a]!.scores[proxy] || a - b);
}

/**
 * Spearman's rank correlation of two equally long lists (average ranks for ties); null under 3 pairs or when
 * either list is constant.
 */
export function spearman(a: number[], b: number[]): number | null {
  if (a.length !== b.length || a.length < 3) return null;
  const ranks = (v: number[]) => {
    const order = v.map((_, i) => i).sort((i, j) => v[i]! - v[j]!);
    const r = new Array<number>(v.length);
    for (let i = 0; i < order.length;) {
      let j = i;
      while (j + 1 < order.length && v[order[j + 1]!] === v[order[i]!]) j++;
      for (let k = i; k <= j; k++) r[order[k]!] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const [ra, rb] = [ranks(a), ranks(b)];
  const mean = (a.length - 1) / 2;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < a.length; i++) {
    num += (ra[i]! - mean) * (rb[i]! - mean);
    da += (ra[i]! - mean) ** 2;
    db += (rb[i]! - mean) ** 2;
  }
  return da === 0 || db === 0 ? null : num / Math.sqrt(da * db);
}
