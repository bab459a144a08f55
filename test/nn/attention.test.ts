// CausalSelfAttention beyond the PyTorch parity of test/nn/parity.test.ts: causality, caller-given masks (also
// larger than the sequence), the key/value cache fed in chunks of any size, and dropout only in training mode;
// SelfAttention without a mask (a U-Net's): every position sees every other, as the textbook formula says.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CausalSelfAttention, SelfAttention, disposeCache, emptyCache } from "../../src/nn/index.js";
import { cat, eye, manualSeed, noGrad, ones, randn, tidy } from "../../src/tensor/index.js";
import { assertClose, assertNoLeak } from "../helpers.js";

test("causal: changing position j leaves the outputs at positions before j unchanged", () => {
  manualSeed(0);
  const attn = new CausalSelfAttention(8, 2).eval();
  tidy(() => {
    const x = randn([2, 6, 8]);
    const y = attn.forward(x);
    for (const j of [1, 3, 5]) {
      const x2 = x.clone();
      noGrad(() => x2.narrow(1, j, 1).add_(1));
      const y2 = attn.forward(x2);
      assert.equal(
        y2
          .narrow(1, 0, j)
          .sub(y.narrow(1, 0, j))
          .abs()
          .max()
          .item(),
        0,
        `position ${j} leaked backwards`,
      );
      assert.ok(
        y2
          .narrow(1, j, 6 - j)
          .sub(y.narrow(1, j, 6 - j))
          .abs()
          .max()
          .item() > 1e-4,
      );
    }
  });
  attn.dispose();
});

test("the cache accepts chunks of any size: 1 + 3 + 2 positions give the full pass", () => {
  manualSeed(1);
  const attn = new CausalSelfAttention(8, 2).eval();
  assertNoLeak(() =>
    tidy(() => {
      const x = randn([3, 6, 8]);
      const cache = emptyCache();
      const parts = [
        [0, 1],
        [1, 3],
        [4, 2],
      ].map(([s, n]) => attn.forward(x.narrow(1, s!, n!), { cache }));
      // 1, then 4, then 8 positions of (B, ·, C): the buffers doubled, six positions filled.
      assert.equal(cache.length, 6);
      assert.deepEqual(cache.k!.shape, [3, 8, 8]);
      disposeCache(cache);
      assertClose(cat(parts, 1).toArray(), attn.forward(x).toArray(), 1e-5);
    }),
  );
  attn.dispose();
});

test("a caller-given mask replaces the causal one, may be larger than the sequence, and works with the cache", () => {
  manualSeed(2);
  const attn = new CausalSelfAttention(8, 2).eval();
  tidy(() => {
    const x = randn([1, 5, 8]);
    // The causal mask spelled out, built for 9 positions: the same result as the default.
    const causal = ones([9, 9], { dtype: "bool" }).tril();
    assertClose(
      attn.forward(x, { mask: causal }).toArray(),
      attn.forward(x).toArray(),
      1e-6,
      "explicit causal",
    );
    // Attending to oneself only: each output is proj(v) of its own position, whatever the others are.
    const self = eye(5).gt(0);
    const alone = cat(
      Array.from({ length: 5 }, (_, i) => attn.forward(x.narrow(1, i, 1))),
      1,
    );
    assertClose(attn.forward(x, { mask: self }).toArray(), alone.toArray(), 1e-5, "diagonal mask");
    const cache = emptyCache();
    const stepwise = cat(
      Array.from({ length: 5 }, (_, i) => attn.forward(x.narrow(1, i, 1), { mask: self, cache })),
      1,
    );
    disposeCache(cache);
    assertClose(stepwise.toArray(), alone.toArray(), 1e-5, "diagonal mask, cached");
  });
  attn.dispose();
});

test("dropout acts in training mode only", () => {
  manualSeed(3);
  const attn = new CausalSelfAttention(8, 2, 0.5);
  tidy(() => {
    const x = randn([2, 4, 8]);
    const train = attn.forward(x);
    attn.eval();
    const a = attn.forward(x),
      b = attn.forward(x);
    assert.deepEqual(a.toArray(), b.toArray());
    assert.ok(train.sub(a).abs().max().item() > 1e-3);
  });
  attn.dispose();
});

test("large batches are attended in chunks (scores under 16 MiB each) with the same values and gradients", () => {
  manualSeed(4);
  const attn = new CausalSelfAttention(8, 2).eval();
  tidy(() => {
    // 40 × 2 heads × 256² float scores = 21 MiB: two chunks of 32 and 8 rows.
    const x = randn([40, 256, 8]).requiresGrad_();
    const y = attn.forward(x);
    const pieces = cat(
      [0, 8, 16, 24, 32].map((s) => attn.forward(x.narrow(0, s, 8))),
      0,
    );
    assertClose(y.toArray(), pieces.toArray(), 1e-5, "values");
    const w = randn([40, 256, 8]);
    y.mul(w).sum().backward();
    const g1 = x.grad!.toArray();
    x.grad = null;
    pieces.mul(w).sum().backward();
    assertClose(g1, x.grad!.toArray(), 1e-5, "gradients");
  });
  attn.dispose();
});

test("non-causal: softmax(q kᵀ / √d) v over all positions, per head; permuting positions permutes the outputs", () => {
  manualSeed(3);
  const attn = new SelfAttention(8, 2).eval();
  tidy(() => {
    const x = randn([2, 5, 8]);
    const y = attn.forward(x);
    assert.deepEqual(y.shape, [2, 5, 8]);
    // The formula by hand: (B, T, 3C) → q, k, v (B, heads, T, 4)
    const [q, k, v] = attn.qkv.forward(x).view(2, 5, 3, 2, 4).permute(2, 0, 3, 1, 4).unbind(0);
    const heads = q!.matmul(k!.transpose(-2, -1)).mul(0.5).softmax(-1).matmul(v!);
    const want = attn.proj.forward(heads.transpose(1, 2).reshape(2, 5, 8));
    assertClose(y.toArray(), want.toArray(), 1e-5, "formula");
    const perm = [4, 2, 0, 3, 1];
    const permuted = (t: typeof x) =>
      cat(
        perm.map((i) => t.narrow(1, i, 1)),
        1,
      );
    assertClose(attn.forward(permuted(x)).toArray(), permuted(y).toArray(), 1e-5, "equivariance");
  });
});
