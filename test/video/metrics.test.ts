// Informativeness metrics: PSNR by hand, SSIM against a numpy reference (test/fixtures/video/ssim.py), the
// higher-order gain against its closed form on Gaussian data and on real MNIST images, where it must separate
// first-order chains from independent corruptions.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { loadDataset } from "../../src/data/index.js";
import * as T from "../../src/tensor/index.js";
import { higherOrderGain, makeVideos, measureSpec, parseSpec, psnr, ssim } from "../../src/video/index.js";
import { assertClose } from "../helpers.js";

test("PSNR: a uniform error of 0.1 on the [-1, 1] scale is 10·log10(4 / 0.01) dB; identical images give 100", () => {
  T.tidy(() => {
    const a = T.zeros([2, 3, 4, 4]);
    const b = T.cat([T.full([1, 3, 4, 4], 0.1), T.zeros([1, 3, 4, 4])]);
    assertClose(psnr(a, b).toArray(), [10 * Math.log10(400), 100], 1e-6);
  });
});

test("SSIM matches a direct numpy implementation of Wang et al. (2004)", () => {
  const fx = JSON.parse(
    readFileSync(fileURLToPath(new URL("../../../test/fixtures/video/ssim.json", import.meta.url)), "utf8"),
  ) as {
    shape: number[];
    a: number[];
    b: number[];
    ssim: number[];
  };
  T.tidy(() => {
    const a = T.tensor(fx.a).reshape(...fx.shape);
    const b = T.tensor(fx.b).reshape(...fx.shape);
    assertClose(ssim(a, b).toArray(), fx.ssim, 1e-4, "ssim");
    assertClose(ssim(a, a).toArray(), [1, 1, 1], 1e-6, "ssim(a, a)");
  });
});

/** Videos (N, T, C, H, W) from per-frame generators, each mapping (N, C, H, W) x to a frame. */
function videosOf(x: T.Tensor, frames: ((x: T.Tensor) => T.Tensor)[]): T.Tensor {
  return T.stack(
    frames.map((f) => f(x)),
    1,
  );
}

test("higher-order gain: independent noisy views of Gaussian data match the closed form; a chain gains nothing", () => {
  T.tidy(() => {
    T.manualSeed(0);
    const x = T.randn([4000, 1, 4, 4]);
    // Frames 1-3: x + ε with fresh unit noise; frame 4: x. With x ~ N(0, 1), Var(x | m views) = 1 / (1 + m), so
    // the last frame's gain is 1 - (1/4) / (1/2) = 0.5 and frame 3's is 1 - (1/3 + 1) / (1/2 + 1) = 1/9.
    const noisy = (z: T.Tensor) => z.add(T.randnLike(z));
    const views = higherOrderGain(videosOf(x, [noisy, noisy, noisy, (z) => z.clone()]));
    assert.deepEqual(views.perFrame.slice(0, 2), [null, null]);
    assertClose(views.perFrame.slice(2) as number[], [1 / 9, 0.5], 0.03, "views");
    // A Gaussian Markov chain x → v3 → v2 → v1: earlier frames add nothing.
    const v3 = x.mul(0.8).add(T.randnLike(x).mul(0.6));
    const v2 = v3.mul(0.8).add(T.randnLike(x).mul(0.6));
    const v1 = v2.mul(0.8).add(T.randnLike(x).mul(0.6));
    const chain = higherOrderGain(T.stack([v1, v2, v3, x], 1));
    for (const g of chain.perFrame.slice(2)) assert.ok(Math.abs(g!) < 0.01, `chain gain ${g}`);
    assert.equal(chain.last, chain.perFrame[3]);
  });
});

test("on MNIST, first-order chains show no higher-order gain and independent corruptions a clear one", async () => {
  const data = await loadDataset("mnist", { limit: 1000, cache: false, progress: false });
  const set = data.test;
  assert.equal(set.n, 1000);
  T.tidy(() => {
    const x = T.fromTyped(set.images, [set.n, set.c, set.h, set.w]).to("float32").div(127.5).sub(1);
    const gain = (name: string) => {
      T.manualSeed(1);
      return higherOrderGain(makeVideos(x, parseSpec(name, 5)));
    };
    // Over-fitting the larger model costs about (t - 2) / 500 of held-out error: the chains' gains sit just below 0.
    for (const name of ["noise-chain", "blur-chain"]) {
      const g = gain(name);
      for (const v of g.perFrame.slice(2)) assert.ok(v! < 0.005 && v! > -0.03, `${name}: gain ${v}`);
    }
    const independent = gain("independent");
    assert.ok(independent.last! > 0.1, `independent: last-frame gain ${independent.last}`);
  });
});

test("measureSpec: the image scores PSNR 100, SSIM 1 and no diversity; noise frames score none and vary", () => {
  T.tidy(() => {
    const x = T.rand([10, 3, 16, 16]).mul(2).sub(1);
    const m = measureSpec(x, parseSpec("noise-control", 4), { draws: 3, batch: 3 });
    assert.equal(m.images, 10);
    assert.deepEqual(
      m.perFrame.map((f) => f.frame),
      [1, 2, 3, 4],
    );
    const last = m.perFrame[3]!;
    assertClose([last.psnr, last.ssim, last.diversity], [100, 1, 0], 1e-6);
    // Noise of std σ = sin(πs/2) at s = 1, 2/3, 1/3, clamped as shown, against independent U(-1, 1) pixels:
    // E[clamp(σz)²] + 1/3 squared error, so 10·log10(4 / that) = 6.73, 7.04 and 8.51 dB. Diversity is half the
    // mean sample std over 3 draws: σ · 0.886 / 2 (0.886 = E[s] / σ for 3 normal draws).
    const sigmas = [1, 2 / 3, 1 / 3].map((s) => Math.sin((Math.PI * s) / 2));
    m.perFrame.slice(0, 3).forEach((f, k) => {
      assert.ok(Math.abs(f.ssim) < 0.05, `noise ssim ${f.ssim}`);
      assert.ok(Math.abs(f.psnr - [6.73, 7.04, 8.51][k]!) < 0.3, `frame ${k + 1}: noise psnr ${f.psnr}`);
      const diversity = (sigmas[k]! * 0.8862) / 2;
      assert.ok(Math.abs(f.diversity - diversity) < 0.03, `frame ${k + 1}: noise diversity ${f.diversity}`);
    });
    // Deterministic operators make the same video every draw.
    const blur = measureSpec(x, parseSpec({ ops: [{ op: "blur" }] }, 4), { draws: 2 });
    assert.ok(blur.perFrame.every((f) => f.diversity < 1e-6));
    assert.ok(
      blur.perFrame[0]!.psnr < blur.perFrame[1]!.psnr && blur.perFrame[1]!.psnr < blur.perFrame[2]!.psnr,
    );
  });
});

test("the SNR curve: 100 dB for the image, 0 dB in every band for a blank frame, falling with frequency for blur", () => {
  T.tidy(() => {
    const x = T.rand([12, 1, 16, 16]).mul(2).sub(1);
    // Frame 1 blank (every pixel 0, the error is -x: signal = error in every band), frame 2 half masked.
    const blank = measureSpec(
      x,
      parseSpec({ ops: [{ op: "mask", strength: [1, 0.5], params: { shape: "box" } }] }, 3),
    );
    assert.equal(blank.perFrame[0]!.snr.length, 8);
    assertClose(blank.perFrame[0]!.snr, Array(8).fill(0), 1e-5, "blank frame");
    assert.deepEqual(blank.perFrame[2]!.snr, Array(8).fill(100));
    assert.ok(blank.perFrame[1]!.snr.every((v) => v > 0 && v < 10));
    // Heat blur keeps the coarse bands (the DC coefficient exactly) and damps the fine ones more and more.
    const blur = measureSpec(x, parseSpec({ ops: [{ op: "blur", strength: 0.1 }] }, 2), { draws: 2 });
    const curve = blur.perFrame[0]!.snr;
    for (let b = 1; b < curve.length; b++) assert.ok(curve[b]! < curve[b - 1]!, `band ${b}: ${curve}`);
    assert.ok(curve[0]! > 10 && curve[7]! < 1, `${curve}`);
  });
});
