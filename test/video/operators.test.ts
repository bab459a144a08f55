// Corruption operators: identity at strength 0, their definitions at strength 1 (against independent
// computations), per-image strengths in one batch, and parameter validation.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as T from "../../src/tensor/index.js";
import { corrupt, operatorNames, operators } from "../../src/video/index.js";
import { assertClose } from "../helpers.js";

const images = (shape: number[], seed = 1) => {
  T.manualSeed(seed);
  return T.rand(shape).mul(2).sub(1);
};
const values = (t: T.Tensor) => Array.from(t.data() as Float32Array);

test("every operator at strength 0 is the identity", () => {
  T.tidy(() => {
    for (const [shape, tol] of [
      [[3, 3, 12, 10], 2e-5],
      [[2, 1, 9, 9], 2e-5],
    ] as const) {
      const x = images([...shape]);
      for (const name of operatorNames) {
        const y = corrupt(name, x, 0);
        assert.deepEqual(y.shape, x.shape, name);
        // Matrix- and grid-based operators round; the rest are exact.
        const exact = !["blur", "pixelate", "shift", "zoom", "rotate"].includes(name);
        if (exact) assert.deepEqual(values(y), values(x), `${name} changed the image`);
        else assertClose(values(y), values(x), tol, name);
      }
    }
  });
});

test("noise at strength 1 is the drawn ε alone, and in between mixes by cos and sin", () => {
  T.tidy(() => {
    const x = images([2, 3, 8, 8]);
    T.manualSeed(5);
    const pure = corrupt("noise", x, 1);
    T.manualSeed(5);
    const eps = T.randn([2, 3, 8, 8]);
    assert.deepEqual(values(pure), values(eps));
    T.manualSeed(5);
    const half = corrupt("noise", x, 0.5);
    const a = Math.cos(Math.PI / 4);
    assertClose(values(half), values(x.mul(a).add(eps.mul(a))), 1e-6, "noise at 0.5");
  });
});

/** Independent heat blur in plain JS: explicit DCT-II, decay of every coefficient, inverse DCT. */
function heatBlurReference(img: number[], h: number, w: number, sigma: number): number[] {
  const basis = (n: number) => (k: number, i: number) =>
    (k === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n)) * Math.cos((Math.PI * (2 * i + 1) * k) / (2 * n));
  const [bh, bw] = [basis(h), basis(w)];
  const tau = (sigma * sigma) / 2;
  const coef: number[] = [];
  for (let k = 0; k < h; k++)
    for (let l = 0; l < w; l++) {
      let s = 0;
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) s += bh(k, y) * bw(l, x) * img[y * w + x]!;
      coef.push(s * Math.exp(-(((Math.PI * k) / h) ** 2 + ((Math.PI * l) / w) ** 2) * tau));
    }
  const out: number[] = [];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = 0; k < h; k++) for (let l = 0; l < w; l++) s += bh(k, y) * bw(l, x) * coef[k * w + l]!;
      out.push(s);
    }
  return out;
}

test("blur at strength 1 is heat dissipation to σ = sigma · min(H, W), checked against an explicit DCT", () => {
  T.tidy(() => {
    const [h, w] = [6, 8];
    const x = images([1, 1, h, w], 3);
    const y = corrupt("blur", x, 1, { sigma: 0.3 });
    assertClose(values(y), heatBlurReference(values(x), h, w, 0.3 * 6), 1e-5, "blur");
    // Strength 1 with a huge σ leaves only the DC coefficient: the mean colour.
    const flat = corrupt("blur", images([2, 3, 8, 8]), 1, { sigma: 10 });
    assertClose(
      values(flat),
      values(flat.mean([2, 3], true).expand(2, 3, 8, 8).contiguous()),
      1e-5,
      "infinite blur",
    );
  });
});

test("blur is a Gaussian blur: matches a sampled Gaussian kernel on the symmetrically extended image", () => {
  T.tidy(() => {
    const n = 24;
    const sigma = 2;
    const x = images([1, 1, n, n], 4).to("float64");
    const y = corrupt("blur", x, sigma / (0.5 * n));
    // Half-sample symmetric extension by 12 pixels on each side (the DCT's boundary), then a 25-tap kernel.
    const ext = (t: T.Tensor, dim: number) =>
      T.cat([t.narrow(dim, 0, 12).flip(dim), t, t.narrow(dim, n - 12, 12).flip(dim)], dim);
    const g = Array.from({ length: 25 }, (_, i) => Math.exp(-((i - 12) ** 2) / (2 * sigma * sigma)));
    const sum = g.reduce((a, b) => a + b, 0);
    const k = T.tensor(
      g.map((v) => v / sum),
      undefined,
      { dtype: "float64" },
    );
    const ref = T.conv2d(T.conv2d(ext(ext(x, 2), 3), k.reshape(1, 1, 25, 1)), k.reshape(1, 1, 1, 25));
    // A sampled kernel differs from the continuous heat kernel by aliasing, far below the blur's own size.
    assertClose(
      Array.from(y.data() as Float64Array),
      Array.from(ref.data() as Float64Array),
      2e-3,
      "gaussian",
    );
  });
});

test("blurs compose like a semigroup: σ² adds up", () => {
  T.tidy(() => {
    const x = images([2, 3, 10, 12]);
    const twice = corrupt("blur", corrupt("blur", x, 0.3), 0.4);
    assertClose(values(twice), values(corrupt("blur", x, 0.5)), 1e-5, "blur(0.3) then blur(0.4) = blur(0.5)");
  });
});

test("pixelate averages cells and repeats them; strength 1 is the mean colour", () => {
  T.tidy(() => {
    const x = images([2, 3, 32, 32]);
    // r = round(32^(1-s)) = 8 cells per side at s = 0.4: 4 × 4 average pooling, then nearest upsampling.
    const y = corrupt("pixelate", x, 0.4);
    const ref = T.interpolate(T.avgPool2d(x, 4), { size: [32, 32], mode: "nearest" });
    assertClose(values(y), values(ref), 1e-5, "pixelate to 8 cells");
    const mean = corrupt("pixelate", x, 1);
    assertClose(
      values(mean),
      values(x.mean([2, 3], true).expand(2, 3, 32, 32).contiguous()),
      1e-5,
      "pixelate at 1",
    );
    // Cells that do not divide the image follow adaptive average pooling's bins.
    const odd = corrupt("pixelate", images([1, 1, 10, 10]), 1 - Math.log(3) / Math.log(10));
    const src = images([1, 1, 10, 10]);
    const pooled = T.adaptiveAvgPool2d(src, 3).toArray();
    const cell = (i: number) => Math.floor((i * 3) / 10);
    const expected = Array.from(
      { length: 100 },
      (_, p) => pooled[cell(Math.floor(p / 10)) * 3 + cell(p % 10)]!,
    );
    assertClose(values(odd), expected, 1e-5, "pixelate to 3 cells");
  });
});

test("mask: fractions, structured shapes, nesting under one draw, and strength 1 masks everything", () => {
  T.tidy(() => {
    const x = images([4, 3, 32, 32]);
    const all = corrupt("mask", x, 1, { fill: 0.5 });
    assert.ok(values(all).every((v) => v === 0.5));
    // Box: a centred square of area s; rows: the bottom s of the rows.
    const box = corrupt("mask", x, 0.25, { shape: "box", fill: 2 / 3 })
      .select(0, 0)
      .select(0, 0);
    const rows = box
      .eq(2 / 3)
      .to("float32")
      .sum(1)
      .toArray();
    assert.deepEqual(rows, [...Array(8).fill(0), ...Array(16).fill(16), ...Array(8).fill(0)]);
    const bottom = corrupt("mask", x, 0.25, { shape: "rows", fill: -1 }).select(0, 1);
    assert.ok(values(bottom.slice(1, 24, 32)).every((v) => v === -1));
    assert.deepEqual(values(bottom.slice(1, 0, 24)), values(x.select(0, 1).slice(1, 0, 24)));
    // Patches: the same draw masks a growing, nested set as the strength grows; about s of the image is masked.
    const op = operators.mask;
    const p = { shape: "patches", patch: 0.125, fill: 0 };
    const u = op.draw(4, [3, 32, 32], p)!;
    assert.deepEqual(u.shape, [4, 1, 8, 8]);
    const masked = (s: number) =>
      op
        .apply(x, T.full([4], s), u, p)
        .eq(0)
        .logicalAnd(x.ne(0));
    const [low, high] = [masked(0.3), masked(0.6)];
    assert.equal(
      low.logicalAnd(high.logicalNot()).to("float32").sum().item(),
      0,
      "a patch masked at 0.3 is unmasked at 0.6",
    );
    const frac = high.to("float32").mean().item();
    assert.ok(Math.abs(frac - 0.6) < 0.1, `masked fraction ${frac}`);
  });
});

test("desaturate reaches BT.601 luma and fade the mean colour at strength 1", () => {
  T.tidy(() => {
    const x = images([2, 3, 4, 5]);
    const px = values(x);
    const grey = values(corrupt("desaturate", x, 1));
    const hw = 20;
    for (let i = 0; i < 2; i++)
      for (let p = 0; p < hw; p++) {
        const luma =
          0.299 * px[i * 60 + p]! + 0.587 * px[i * 60 + hw + p]! + 0.114 * px[i * 60 + 2 * hw + p]!;
        for (let ch = 0; ch < 3; ch++) assert.ok(Math.abs(grey[i * 60 + ch * hw + p]! - luma) < 1e-6);
      }
    const faded = values(corrupt("fade", x, 1));
    for (let plane = 0; plane < 6; plane++) {
      const mean = px.slice(plane * hw, (plane + 1) * hw).reduce((a, b) => a + b, 0) / hw;
      for (let p = 0; p < hw; p++) assert.ok(Math.abs(faded[plane * hw + p]! - mean) < 1e-6);
    }
    // Grey images have nothing to desaturate.
    const g = images([1, 1, 4, 4]);
    assert.deepEqual(values(corrupt("desaturate", g, 1)), values(g));
  });
});

test("shift, rotate and zoom: whole-pixel moves, a quarter turn and a 2× magnification", () => {
  T.tidy(() => {
    const x = images([1, 3, 32, 32]);
    const one = T.full([1], 1);
    // Strength 1 with distance 0.25 moves the content right by 8 pixels (angle 0), filling with 0.
    const p = { distance: 0.25, padding: "zeros" };
    const moved = operators.shift.apply(x, one, T.zeros([1]), p);
    assertClose(values(moved.slice(3, 8, 32)), values(x.slice(3, 0, 24)), 1e-5, "shift");
    assert.ok(values(moved.slice(3, 0, 8)).every((v) => Math.abs(v) < 1e-6));
    // A quarter turn of a square image maps pixel centres onto pixel centres.
    const turned = operators.rotate.apply(x, one, T.ones([1]), { angle: 90, padding: "zeros" });
    const quarter = [x.transpose(2, 3).flip(2), x.transpose(2, 3).flip(3)];
    const errs = quarter.map((q) => turned.sub(q).abs().max().item());
    assert.ok(Math.min(...errs) < 1e-5, `rotate 90°: errors ${errs}`);
    // 2× zoom at the centre = the centre of a 2× bilinear upsampling.
    const zoomed = operators.zoom.apply(x, one, T.zeros([1, 2]), { scale: 2, padding: "border" });
    const up = T.interpolate(x, { size: [64, 64], mode: "bilinear" })
      .slice(2, 16, 48)
      .slice(3, 16, 48);
    assertClose(values(zoomed), values(up), 1e-5, "zoom");
  });
});

test("one batch with a strength per image equals separate calls", () => {
  T.tidy(() => {
    const x = images([3, 3, 16, 16]);
    for (const name of ["blur", "pixelate", "desaturate", "fade", "mask"] as const) {
      const s = [0.1, 0.5, 0.9];
      const p = name === "mask" ? { shape: "box" } : {};
      const batched = values(corrupt(name, x, T.tensor(s), p));
      const single = s.flatMap((si, i) => values(corrupt(name, x.narrow(0, i, 1), si, p)));
      assertClose(batched, single, 1e-5, name);
    }
  });
});

test("bad parameters and strengths name the problem", () => {
  T.tidy(() => {
    const x = images([1, 1, 4, 4]);
    assert.throws(() => corrupt("blur", x, 1.3), {
      message: "Expected strength in [0, 1] for strength but received 1.3 (number)",
    });
    assert.throws(() => corrupt("blur", x, 0.5, { sigm: 1 }), {
      message: 'Expected a parameter of blur (sigma) for blur.sigm but received "sigm" (string)',
    });
    assert.throws(() => corrupt("mask", x, 0.5, { shape: "circle" }), {
      message: 'Expected one of patches, box, rows for mask.shape but received "circle" (string)',
    });
    assert.throws(() => corrupt("zoom", x, 0.5, { scale: 0.5 }), {
      message: "Expected number in [1, 64] for zoom.scale but received 0.5 (number)",
    });
    assert.throws(() => corrupt("xyz" as never, x, 0.5), {
      message:
        'corrupt: unknown operator "xyz" (valid: noise, blur, pixelate, mask, desaturate, fade, shift, zoom, rotate)',
    });
    assert.throws(() => corrupt("noise", x.select(0, 0), 0.5), {
      message: "corrupt: images must be rank 4 (N, C, H, W), got shape [1,4,4]",
    });
  });
});

test("operators leave no tensors behind", () => {
  T.tidy(() => {
    const x = images([2, 3, 8, 8]);
    for (const name of operatorNames) corrupt(name, x, 0.5).dispose(); // warm the cached matrices
    const s = T.tensor([0.2, 0.7]);
    const before = T.liveTensors();
    for (const name of operatorNames) corrupt(name, x, s).dispose();
    assert.equal(T.liveTensors(), before);
  });
});
