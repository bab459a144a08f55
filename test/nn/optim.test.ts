// Optimizer updates against hand computation; clipping; schedules; state round trip.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as T from "../../src/tensor/index.js";
import { Adam, AdamW, clipGradNorm, warmupCosine } from "../../src/nn/index.js";
import { assertClose } from "../helpers.js";

function handAdam(
  p: number[],
  grads: number[][],
  o: { lr: number; b1: number; b2: number; eps: number; wd: number; decoupled: boolean },
): number[] {
  const m = p.map(() => 0),
    v = p.map(() => 0);
  p = [...p];
  grads.forEach((g0, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      let g = g0[i]!;
      if (o.decoupled) p[i]! *= 1 - o.lr * o.wd;
      else g += o.wd * p[i]!;
      m[i] = o.b1 * m[i]! + (1 - o.b1) * g;
      v[i] = o.b2 * v[i]! + (1 - o.b2) * g * g;
      const mh = m[i]! / (1 - o.b1 ** t),
        vh = v[i]! / (1 - o.b2 ** t);
      p[i]! -= (o.lr * mh) / (Math.sqrt(vh) + o.eps);
    }
  });
  return p;
}

for (const decoupled of [false, true]) {
  test(`${decoupled ? "AdamW" : "Adam"} equals the textbook update`, () => {
    const p0 = [0.5, -1.5, 2, 0.01];
    const grads = [
      [0.1, -0.2, 0.3, 0],
      [1, 2, -3, 0.5],
      [-0.5, 0.25, 0.125, 4],
    ];
    const p = T.keep(T.tensor(p0, undefined, { dtype: "float64" }).requiresGrad_());
    const opt = decoupled
      ? new AdamW([p], { lr: 0.05, weightDecay: 0.2 })
      : new Adam([p], { lr: 0.05, weightDecay: 0.2 });
    for (const g of grads) {
      p.grad = T.tensor(g, undefined, { dtype: "float64" });
      opt.update();
    }
    assertClose(
      p.toArray(),
      handAdam(p0, grads, { lr: 0.05, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.2, decoupled }),
      1e-12,
    );
  });
}

test("optimizer state round trip continues identically", () => {
  const run = (split: boolean) => {
    const p = T.keep(T.tensor([1, 2, 3], undefined, { dtype: "float64" }).requiresGrad_());
    let opt = new Adam([p], { lr: 0.1 });
    for (let s = 0; s < 4; s++) {
      if (split && s === 2) {
        const { tensors, meta } = opt.stateDict();
        const copy = new Map([...tensors].map(([k, v]) => [k, T.keep(v.clone())]));
        opt = new Adam([p], { lr: 0.1 });
        opt.loadStateDict(copy, meta);
      }
      p.grad = T.tensor([0.3 * s, -1, 0.5], undefined, { dtype: "float64" });
      opt.update();
    }
    return p.toArray();
  };
  assert.deepEqual(run(true), run(false));
});

test("clipGradNorm scales to the max norm and reports the norm before clipping", () => {
  const a = T.keep(T.zeros([2]).requiresGrad_()),
    b = T.keep(T.zeros([1]).requiresGrad_());
  a.grad = T.tensor([3, 0]);
  b.grad = T.tensor([4]);
  const norm = clipGradNorm([a, b], 1);
  assertClose([norm], [5]);
  assertClose([...a.grad!.toArray(), ...b.grad!.toArray()], [0.6, 0, 0.8], 1e-5);
  a.grad = T.tensor([Number.NaN, 0]);
  assert.ok(Number.isNaN(clipGradNorm([a], 1)));
});

test("warm-up then cosine schedule", () => {
  const lr = warmupCosine({ lr: 1, warmup: 10, total: 110, minLr: 0.1 });
  assertClose([lr(0), lr(9), lr(10), lr(60), lr(110), lr(500)], [0.1, 1, 1, 0.55, 0.1, 0.1], 1e-12);
});
