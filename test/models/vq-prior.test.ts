// Stage 2 of the VQ-VAE family: the transformer prior over codes (image and video). Causality of both attention
// patterns, KV-cached decoding against the full pass, T = 1 video prior = image prior, truncated sampling, and
// parity with the PyTorch twin (test/fixtures/models/make_vq_fixtures.py).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Adam, loadSafetensors } from "../../src/nn/index.js";
import {
  type Tensor,
  cat,
  dispose,
  full,
  manualSeed,
  multinomial,
  noGrad,
  randint,
  randn,
  tensor,
  tidy,
  setNumThreads,
} from "../../src/tensor/index.js";
import { CodePrior, type PriorConfig, pick } from "../../src/models/vq-prior.js";
import { VideoCodePrior } from "../../src/models/vq-video.js";
import { disposeCache, emptyCache } from "../../src/nn/index.js";
import { assertClose, assertNoLeak } from "../helpers.js";

// Tiny models: a second thread only adds synchronisation (and, on a loaded machine, long waits).
setNumThreads(1);

const cfg: PriorConfig = { layers: 2, heads: 2, embd: 16, dropout: 0, tie: false };
const K = 10,
  S = 4,
  T = 3;

/** Logits of every position for code sequences (B, L), by the full (uncached) pass. */
function fullLogits(p: CodePrior, codes: Tensor): Tensor {
  const input = cat(
    [full([codes.size(0), 1], p.codes, { dtype: "int64" }), codes.narrow(1, 0, codes.size(1) - 1)],
    1,
  );
  return p.logits(input);
}

/** Max |difference| of the logits at positions [from, to) between two code sequences. */
function change(p: CodePrior, a: Tensor, b: Tensor, from: number, to: number): number {
  return tidy(() =>
    fullLogits(p, a)
      .sub(fullLogits(p, b))
      .narrow(1, from, to - from)
      .abs()
      .max()
      .item(),
  );
}

function withCodeChanged(codes: Tensor, position: number): Tensor {
  const c = codes.clone();
  noGrad(() => c.narrow(1, position, 1).copy_(c.narrow(1, position, 1).add(1).remainder(K)));
  return c;
}

test("the causal mask: changing a code leaves the logits of it and every earlier position unchanged", () => {
  manualSeed(0);
  const p = new CodePrior(cfg, K, 16).eval();
  tidy(() => {
    const a = randint(0, K, [2, 16]);
    for (const j of [0, 5, 15]) {
      const b = withCodeChanged(a, j);
      // Position i predicts code i from codes < i: a change of code j shows from position j + 1 on.
      assert.equal(change(p, a, b, 0, j + 1), 0, `code ${j} changed logits at or before itself`);
      if (j < 15) assert.ok(change(p, a, b, j + 1, 16) > 1e-4, `code ${j} changed nothing later`);
    }
  });
  p.dispose();
});

/** Max |difference| of the per-code NLL of frame t between two code sequences. */
function nllChange(p: CodePrior, a: Tensor, b: Tensor, t: number): number {
  return tidy(() =>
    p
      .nll(a)
      .sub(p.nll(b))
      .narrow(1, t * S, S)
      .abs()
      .max()
      .item(),
  );
}

test("first-order prior: frame t's likelihood ignores frames before t − 1 (through every layer); the full prior's does not", () => {
  manualSeed(1);
  const fo = new VideoCodePrior({ ...cfg, layers: 3 }, K, S, T, "first-order").eval();
  const fu = new VideoCodePrior({ ...cfg, layers: 3 }, K, S, T, "full").eval();
  tidy(() => {
    const a = randint(0, K, [2, T * S]);
    for (const j of [0, 2, S - 1]) {
      // A code of frame 0: frame 2 must not depend on it, frame 1 must.
      const b = withCodeChanged(a, j);
      assert.equal(nllChange(fo, a, b, 2), 0, `first-order: code ${j} reached frame 2`);
      assert.ok(nllChange(fo, a, b, 1) > 1e-4, `first-order: code ${j} did not reach frame 1`);
      assert.ok(nllChange(fu, a, b, 2) > 1e-4, `full: code ${j} did not reach frame 2`);
    }
    // Codes of frame 1 reach frame 2 in both.
    for (const j of [S, 2 * S - 1])
      assert.ok(nllChange(fo, withCodeChanged(a, j), a, 2) > 1e-4, `first-order: code ${j}`);
  });
  fo.dispose();
  fu.dispose();
});

test("first-order prior: frames 1, 2 score as in the full prior; frame t as the full prior on the window [frame t − 1, frame t]", () => {
  manualSeed(2);
  const fo = new VideoCodePrior(cfg, K, S, T, "first-order").eval();
  const fu = new VideoCodePrior(cfg, K, S, T, "full").eval();
  fu.loadStateDict(fo.stateDict());
  tidy(() => {
    const codes = randint(0, K, [3, T * S]);
    const a = fo.nll(codes);
    assertClose(
      a.narrow(1, 0, 2 * S).toArray(),
      fu
        .nll(codes)
        .narrow(1, 0, 2 * S)
        .toArray(),
      1e-5,
      "frames 1, 2",
    );
    // Frame 3 (index 2): the plain transformer on [start, frame 2, frame 3] placed at positions S … 3S.
    const window = codes.narrow(1, S, 2 * S);
    const input = cat([full([3, 1], K, { dtype: "int64" }), window.narrow(1, 0, 2 * S - 1)], 1);
    const logp = fu.logits(input, S).narrow(1, S, S).logSoftmax(-1);
    const expected = logp
      .gather(2, window.narrow(1, S, S).unsqueeze(2))
      .squeeze(2)
      .neg();
    assertClose(a.narrow(1, 2 * S, S).toArray(), expected.toArray(), 1e-5, "frame 3");
  });
  fo.dispose();
  fu.dispose();
});

test("KV-cached decoding gives the logits of the uncached pass (image and video positions)", () => {
  manualSeed(2);
  const priors = [new CodePrior(cfg, K, S * T), new VideoCodePrior(cfg, K, S, T, "full")];
  for (const p of priors) {
    p.eval();
    assertNoLeak(() =>
      tidy(() => {
        const codes = randint(0, K, [3, p.length]);
        const reference = fullLogits(p, codes);
        const input = cat([full([3, 1], K, { dtype: "int64" }), codes.narrow(1, 0, p.length - 1)], 1);
        const caches = p.blocks.map(() => emptyCache());
        // One position at a time, then two chunks of several: the cache accepts any split.
        const stepwise = cat(
          Array.from({ length: p.length }, (_, i) => p.logits(input.narrow(1, i, 1), i, caches)),
          1,
        );
        caches.forEach(disposeCache);
        assertClose(stepwise.toArray(), reference.toArray(), 1e-5, `${p.constructor.name} stepwise`);
        const half = 5;
        const chunked = cat(
          [
            p.logits(input.narrow(1, 0, half), 0, caches),
            p.logits(input.narrow(1, half, p.length - half), half, caches),
          ],
          1,
        );
        caches.forEach(disposeCache);
        assertClose(chunked.toArray(), reference.toArray(), 1e-5, `${p.constructor.name} chunked`);
      }),
    );
    p.dispose();
  }
});

test("cached and uncached sampling draw the same codes from the same seed (image, full, first-order)", () => {
  manualSeed(3);
  for (const p of [
    new CodePrior(cfg, K, S),
    new VideoCodePrior(cfg, K, S, T, "full"),
    new VideoCodePrior(cfg, K, S, T, "first-order"),
  ]) {
    p.eval();
    const draw = (cache: boolean) => {
      manualSeed(11);
      return assertNoLeak(() => tidy(() => p.sample(4, { cache, temperature: 0.9 }).toArray()));
    };
    const a = draw(true);
    assert.equal(a.length, 4 * p.length);
    assert.ok(a.every((c) => Number.isInteger(c) && c >= 0 && c < K));
    assert.deepEqual(draw(false), a, p.constructor.name);
    p.dispose();
  }
});

/** pick() as it was before the partial top-k: mask below the k-th logit, then sort all K codes for top-p. */
function pickBySorting(logits: Tensor, temperature: number, topK: number, topP: number): Tensor {
  let l = logits.div(temperature);
  const K = l.size(-1);
  if (topK > 0 && topK < K) l = l.maskedFill(l.lt(l.topk(topK, -1)[0].narrow(1, topK - 1, 1)), -Infinity);
  if (topP < 1) {
    const [sorted, order] = l.sort(-1, true);
    const probs = sorted.softmax(-1);
    l = l.scatter(1, order, sorted.maskedFill(probs.cumsum(-1).sub(probs).gt(topP), -Infinity));
  }
  return multinomial(l.softmax(-1), 1);
}

test("top-p from partial top-k's draws the codes the full sort draws, on peaked and flat logits", () => {
  manualSeed(12);
  tidy(() => {
    // Peaked rows: the nucleus fits in 32 codes of 256; flat rows need the full sort; mixed: both in one batch.
    const peaked = randn([64, 256]).mul(6);
    const flat = randn([64, 256]).mul(0.1);
    for (const [name, logits] of [
      ["peaked", peaked],
      ["flat", flat],
      ["mixed", cat([peaked.narrow(0, 0, 32), flat.narrow(0, 0, 32)], 0)],
    ] as const)
      for (const [temperature, topK, topP] of [
        [1, 0, 0.9],
        [0.8, 0, 0.5],
        [1, 20, 0.8],
        [1.3, 100, 0.95],
      ] as const) {
        manualSeed(13);
        const fast = pick(logits, temperature, topK, topP).toArray();
        manualSeed(13);
        const reference = pickBySorting(logits, temperature, topK, topP).toArray();
        assert.deepEqual(fast, reference, `${name} T=${temperature} k=${topK} p=${topP}`);
      }
  });
});

test("sampling writes each block's cache in place: one buffer of the sequence length, four heads, every option", () => {
  manualSeed(14);
  const wide: PriorConfig = { layers: 2, heads: 4, embd: 32, dropout: 0, tie: false };
  const p = new VideoCodePrior(wide, 64, 8, 3, "full").eval();
  tidy(() => {
    // The cache a sampler uses: sized once, the same tensors after every step.
    const caches = p.blocks.map(() => emptyCache(p.length));
    let token = full([5, 1], p.codes, { dtype: "int64" });
    const first = p.logits(token, 0, caches);
    const buffers = caches.map((c) => c.k);
    for (let i = 1; i < p.length; i++) {
      token = randint(0, 64, [5, 1]);
      p.logits(token, i, caches);
    }
    assert.ok(caches.every((c, i) => c.k === buffers[i] && c.length === p.length));
    assert.deepEqual(caches[0]!.k!.shape, [5, p.length, 32]);
    assert.equal(first.size(1), 1);
    caches.forEach(disposeCache);
  });
  for (const o of [{}, { temperature: 0.9, topP: 0.9 }, { topK: 10, topP: 0.7 }, { topK: 5 }]) {
    const draw = (cache: boolean) => {
      manualSeed(15);
      return assertNoLeak(() => tidy(() => p.sample(6, { ...o, cache }).toArray()));
    };
    assert.deepEqual(draw(true), draw(false), JSON.stringify(o));
  }
  p.dispose();
});

test("sampled codes follow the prior: a prior trained on one repeated sequence reproduces it", () => {
  manualSeed(6);
  const p = new VideoCodePrior(cfg, K, S, T, "first-order");
  const target = randint(0, K, [1, T * S]);
  const opt = new Adam(p.parameters(), { lr: 1e-2 });
  for (let i = 0; i < 60; i++)
    tidy(() => {
      const loss = p.nll(target.expand(8, -1)).mean();
      opt.zeroGrad();
      loss.backward();
      opt.update();
    });
  p.eval();
  tidy(() => {
    assert.ok(p.nll(target).mean().item() < 0.05);
    assert.deepEqual(p.sample(3, { topK: 1 }).toArray(), target.expand(3, -1).contiguous().toArray());
  });
  opt.dispose();
  p.dispose();
  target.dispose();
});

test("with T = 1 the video prior is exactly the image prior: same parameters, logits and samples", () => {
  for (const attention of ["full", "first-order"] as const) {
    manualSeed(4);
    const img = new CodePrior(cfg, K, S).eval();
    manualSeed(4);
    const vid = new VideoCodePrior(cfg, K, S, 1, attention).eval();
    const ownKeys = [...vid.stateDict().keys()].filter((k) => k !== "time");
    assert.deepEqual(ownKeys, [...img.stateDict().keys()]);
    for (const [k, t] of img.stateDict()) assert.deepEqual(vid.stateDict().get(k)!.toArray(), t.toArray(), k);
    tidy(() => {
      const codes = randint(0, K, [5, S]);
      assert.deepEqual(fullLogits(vid, codes).toArray(), fullLogits(img, codes).toArray());
      assert.deepEqual(vid.nll(codes).toArray(), img.nll(codes).toArray());
    });
    manualSeed(9);
    const a = tidy(() => img.sample(6).toArray());
    manualSeed(9);
    assert.deepEqual(
      tidy(() => vid.sample(6).toArray()),
      a,
    );
    img.dispose();
    vid.dispose();
  }
});

test("sampling: top-k keeps the k most likely codes, top-p the smallest set covering p", () => {
  manualSeed(5);
  tidy(() => {
    const probs = [0.05, 0.5, 0.15, 0.3];
    const logits = tensor([probs.map(Math.log)]).expand(4000, 4);
    const freq = (codes: Tensor) => [0, 1, 2, 3].map((c) => codes.eq(c).float().mean().item());
    // top-k = 2 keeps codes 1 and 3, renormalised: 0.5/0.8 and 0.3/0.8.
    assertClose(freq(pick(logits, 1, 2, 1)), [0, 0.625, 0, 0.375], 0.03, "top-k");
    // top-p = 0.7: code 1 (0.5) does not cover 0.7, codes 1 + 3 (0.8) do; code 2 is dropped.
    assertClose(freq(pick(logits, 1, 0, 0.7)), [0, 0.625, 0, 0.375], 0.03, "top-p");
    // top-p below the largest probability keeps only the most likely code.
    assert.deepEqual(freq(pick(logits, 1, 0, 0.2)), [0, 1, 0, 0]);
    // temperature 0.5 squares the probabilities before renormalising.
    const sq = probs.map((q) => q * q),
      z = sq.reduce((s, v) => s + v);
    assertClose(
      freq(pick(logits, 0.5, 0, 1)),
      sq.map((v) => v / z),
      0.03,
      "temperature",
    );
  });
  const p = new CodePrior(cfg, K, S).eval();
  manualSeed(8);
  const greedy = tidy(() => p.sample(3, { temperature: 0 }).toArray());
  assert.deepEqual(
    tidy(() => p.sample(3, { topK: 1 }).toArray()),
    greedy,
    "temperature 0 = top-1",
  );
  assert.throws(() => p.sample(2, { temperature: -1 }), {
    message:
      "Expected a non-negative number (0: the most likely code) for temperature but received -1 (number)",
  });
  assert.throws(() => p.sample(2, { topK: -1 }), {
    message: "Expected a non-negative integer (0: off) for topK but received -1 (number)",
  });
  assert.throws(() => p.sample(2, { topP: 1.5 }), {
    message: "Expected a number in (0, 1] (1: off) for topP but received 1.5 (number)",
  });
  p.dispose();
});

test("the priors match their PyTorch twin: per-code NLL of image, full and first-order (tied) video priors", () => {
  const { tensors: f } = loadSafetensors(
    new URL("../../../test/fixtures/models/vq.safetensors", import.meta.url).pathname,
  );
  const cases: [string, CodePrior][] = [
    ["img", new CodePrior(cfg, 16, 4)],
    ["full", new VideoCodePrior(cfg, 16, 4, 3, "full")],
    ["fo", new VideoCodePrior({ ...cfg, tie: true }, 16, 4, 3, "first-order")],
  ];
  for (const [name, p] of cases) {
    const prefix = `prior.${name}.`;
    const state = new Map(
      [...f]
        .filter(([k]) => k.startsWith(prefix) && k !== `${prefix}codes` && k !== `${prefix}nll`)
        .map(([k, v]) => [k.slice(prefix.length), v] as [string, Tensor]),
    );
    p.loadStateDict(state);
    p.eval();
    tidy(() =>
      assertClose(p.nll(f.get(`${prefix}codes`)!).toArray(), f.get(`${prefix}nll`)!.toArray(), 1e-5, name),
    );
    p.dispose();
  }
  dispose(f);
});
