// 1-D pseudo-video operators: every one is the identity at strength 0 and matches its definition at strength 1
// (and at a strength in between) against plain-JS computations; per-signal strengths in one batch agree with
// one signal at a time; the same seed gives the same result; bad arguments fail naming what is wrong.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as T from "../../src/tensor/index.js";
import { corruptSeries, seriesOperatorNames } from "../../src/modality/series/operators.js";
import { assertClose } from "../helpers.js";

const signals = (shape: number[], seed = 1) => {
  T.manualSeed(seed);
  return T.rand(shape).mul(2).sub(1);
};
const values = (t: T.Tensor) => Array.from(t.contiguous().data() as Float32Array);
/** Row i of a (N, C, L) tensor's values, as C·L numbers. */
const rowOf = (v: number[], i: number, cl: number) => v.slice(i * cl, (i + 1) * cl);

test("every 1-D operator at strength 0 is the identity", () => {
  T.tidy(() => {
    const x = signals([3, 2, 37]);
    for (const name of seriesOperatorNames) {
      const y = corruptSeries(name, x, 0);
      assert.deepEqual(y.shape, x.shape, name);
      // shift and stretch resample through grid_sample, whose coordinates round; the others are exact.
      if (name === "shift" || name === "stretch") assertClose(values(y), values(x), 1e-5, name);
      else assert.deepEqual(values(y), values(x), `${name} changed the signal`);
    }
  });
});

test("noise at strength 1 is the drawn ε alone; at 0.5 it mixes x and ε by cos and sin", () => {
  T.tidy(() => {
    const x = signals([2, 2, 16]);
    T.manualSeed(7);
    const pure = corruptSeries("noise", x, 1);
    T.manualSeed(7);
    const eps = T.randn([2, 2, 16]);
    assert.deepEqual(values(pure), values(eps));
    T.manualSeed(7);
    const a = Math.cos(Math.PI / 4);
    assertClose(values(corruptSeries("noise", x, 0.5)), values(x.mul(a).add(eps.mul(a))), 1e-6, "noise 0.5");
  });
});

/** Gaussian blur of one channel by a sampled kernel of σ samples, radius ⌈3σ⌉, edges replicated. */
function gaussianBlur(v: number[], sigma: number, r = Math.ceil(3 * sigma)): number[] {
  const g = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = g.reduce((a, b) => a + b, 0);
  return v.map((_, t) =>
    g.reduce((acc, w, i) => acc + (w / sum) * v[Math.min(v.length - 1, Math.max(0, t + i - r))]!, 0),
  );
}

test("blur at strength 1 is a Gaussian of σ = sigma · L samples with replicated edges; strengths per signal", () => {
  T.tidy(() => {
    const length = 40;
    const x = signals([3, 2, length], 3);
    const y = values(corruptSeries("blur", x, T.tensor([1, 0.5, 0]), { sigma: 0.1 }));
    const xv = values(x);
    // The kernel radius follows the batch's largest σ (4 samples: 12 taps each side) for every signal.
    for (const [i, sigma] of [
      [0, 4],
      [1, 2],
    ] as const)
      for (let ch = 0; ch < 2; ch++) {
        const at = (i * 2 + ch) * length;
        const want = gaussianBlur(xv.slice(at, at + length), sigma, 12);
        assertClose(y.slice(at, at + length), want, 1e-5, `signal ${i} channel ${ch}`);
      }
    assert.deepEqual(rowOf(y, 2, 2 * length), rowOf(xv, 2, 2 * length), "strength 0 in a blurred batch");
    // A constant signal stays constant: the kernel sums to 1 and the edges are replicated.
    assertClose(
      values(corruptSeries("blur", T.full([1, 1, 20], 0.3), 1, { sigma: 0.5 })),
      Array(20).fill(0.3),
      1e-6,
    );
  });
});

test("mask sets a span of s · L samples to the fill at u (1 − s) L; strength 1 masks everything", () => {
  T.tidy(() => {
    const length = 20;
    const x = signals([2, 1, length]);
    T.manualSeed(11);
    const y = values(corruptSeries("mask", x, 0.25, { fill: -0.5 }));
    T.manualSeed(11);
    const u = values(T.rand([2]));
    const xv = values(x);
    for (let i = 0; i < 2; i++) {
      const start = u[i]! * 0.75 * length;
      const want = xv
        .slice(i * length, (i + 1) * length)
        .map((v, t) => (t + 0.5 >= start && t + 0.5 < start + 5 ? -0.5 : v));
      assert.deepEqual(rowOf(y, i, length), want, `signal ${i}`);
      assert.equal(want.filter((v) => v === -0.5).length, 5);
    }
    assert.deepEqual(values(corruptSeries("mask", x, 1)), Array(2 * length).fill(0));
  });
});

test("shift at strength 1 moves the signal by distance · L samples in the drawn direction, zeros entering", () => {
  T.tidy(() => {
    const length = 16;
    const x = signals([4, 2, length]);
    T.manualSeed(4);
    const y = values(corruptSeries("shift", x, 1, { distance: 0.25 }));
    T.manualSeed(4);
    const signs = values(T.rand([4]).lt(0.5).to("float32").mul(2).sub(1));
    assert.ok(signs.includes(1) && signs.includes(-1), "the seed draws both directions");
    const xv = values(x);
    for (let i = 0; i < 4; i++)
      for (let ch = 0; ch < 2; ch++) {
        const at = (i * 2 + ch) * length;
        const d = signs[i]! * 4;
        const want = Array.from({ length }, (_, t) => (t - d >= 0 && t - d < length ? xv[at + t - d]! : 0));
        assertClose(y.slice(at, at + length), want, 1e-5, `signal ${i} channel ${ch}`);
      }
  });
});

test("fade at strength s scales the amplitude by 1 − s: silence at 1", () => {
  T.tidy(() => {
    const x = signals([2, 2, 9]);
    assertClose(values(corruptSeries("fade", x, 1)), Array(36).fill(0), 0, "fade 1");
    assertClose(
      values(corruptSeries("fade", x, 0.25)),
      values(x).map((v) => 0.75 * v),
      1e-7,
      "fade 0.25",
    );
  });
});

test("stretch at strength 1 resamples linearly at c + (t − c) / scale around the drawn point", () => {
  T.tidy(() => {
    const length = 30;
    const x = signals([3, 1, length]);
    T.manualSeed(5);
    const y = values(corruptSeries("stretch", x, 1, { scale: 3 }));
    T.manualSeed(5);
    const u = values(T.rand([3]));
    const xv = values(x);
    for (let i = 0; i < 3; i++) {
      const c = u[i]! * (length - 1);
      const row = xv.slice(i * length, (i + 1) * length);
      const want = Array.from({ length }, (_, t) => {
        const p = c + (t - c) / 3;
        const lo = Math.floor(p);
        const f = p - lo;
        return row[lo]! * (1 - f) + (f > 0 ? row[lo + 1]! * f : 0);
      });
      assertClose(rowOf(y, i, length), want, 1e-5, `signal ${i}`);
    }
  });
});

/** Orthonormal DCT-II coefficients of v, and the inverse. */
const dct = (v: number[]) =>
  v.map((_, k) =>
    v.reduce(
      (acc, x, i) =>
        acc +
        (k === 0 ? Math.sqrt(1 / v.length) : Math.sqrt(2 / v.length)) *
          Math.cos((Math.PI * (2 * i + 1) * k) / (2 * v.length)) *
          x,
      0,
    ),
  );
const idct = (c: number[]) =>
  c.map((_, i) =>
    c.reduce(
      (acc, x, k) =>
        acc +
        (k === 0 ? Math.sqrt(1 / c.length) : Math.sqrt(2 / c.length)) *
          Math.cos((Math.PI * (2 * i + 1) * k) / (2 * c.length)) *
          x,
      0,
    ),
  );

test("band removes s · L DCT frequencies at u (1 − s) L; strength 1 removes every frequency", () => {
  T.tidy(() => {
    const length = 24;
    const x = signals([2, 2, length]);
    T.manualSeed(9);
    const y = values(corruptSeries("band", x, 0.5));
    T.manualSeed(9);
    const u = values(T.rand([2]));
    const xv = values(x);
    for (let i = 0; i < 2; i++) {
      const start = u[i]! * 0.5 * length;
      for (let ch = 0; ch < 2; ch++) {
        const at = (i * 2 + ch) * length;
        const coef = dct(xv.slice(at, at + length)).map((v, k) =>
          k + 0.5 >= start && k + 0.5 < start + 12 ? 0 : v,
        );
        assertClose(y.slice(at, at + length), idct(coef), 1e-5, `signal ${i} channel ${ch}`);
      }
    }
    assertClose(values(corruptSeries("band", x, 1)), Array(4 * length).fill(0), 1e-5, "band 1");
    // A pure cosine at frequency 3 survives a band that misses it and vanishes in one that covers it.
    const cosine = T.tensor(idct(Array.from({ length }, (_, k) => (k === 3 ? 1 : 0)))).reshape(1, 1, length);
    T.manualSeed(1);
    const kept = corruptSeries("band", cosine, 0.1); // 2.4 frequencies wide
    T.manualSeed(1);
    const start = values(T.rand([1]))[0]! * 0.9 * length;
    const covered = 3.5 >= start && 3.5 < start + 2.4;
    assertClose(values(kept), covered ? Array(length).fill(0) : values(cosine), 1e-5, "cosine");
  });
});

test("the same seed gives the same corruption; another seed another", () => {
  T.tidy(() => {
    const x = signals([2, 1, 32]);
    for (const name of ["noise", "mask", "shift", "stretch", "band"] as const) {
      T.manualSeed(42);
      const a = values(corruptSeries(name, x, 0.6));
      T.manualSeed(42);
      assert.deepEqual(values(corruptSeries(name, x, 0.6)), a, name);
      T.manualSeed(43);
      assert.notDeepEqual(values(corruptSeries(name, x, 0.6)), a, name);
    }
  });
});

test("bad arguments fail naming what is wrong", () => {
  T.tidy(() => {
    const x = signals([2, 1, 8]);
    assert.throws(
      () => corruptSeries("blur", x.reshape(2, 1, 2, 4), 0.5),
      /signals must be rank 3 \(N, C, L\)/,
    );
    assert.throws(() => corruptSeries("blur", x, 1.5), /strength in \[0, 1\] for strength/);
    assert.throws(() => corruptSeries("blur", x, T.tensor([0.5])), /expected 2 strengths, got shape \[1\]/);
    assert.throws(
      () => corruptSeries("shift", x, 0.5, { angle: 1 }),
      /a parameter of shift \(distance\) for shift\.angle/,
    );
    assert.throws(
      () => corruptSeries("stretch", x, 0.5, { scale: 0.5 }),
      /number in \[1, 64\] for stretch\.scale/,
    );
    assert.throws(
      () => corruptSeries("warp" as "blur", x, 0.5),
      /unknown operator "warp" \(valid: noise, blur/,
    );
  });
});
