// Zero-training proxies on real MNIST images: the higher-order gain ranks first-order chains below independent
// corruptions, scores are a function of (spec, seed) alone, and Spearman's correlation matches scipy.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadDataset } from "../../src/data/index.js";
import * as T from "../../src/tensor/index.js";
import { parseSpec } from "../../src/video/index.js";
import { rankBy, scoreSpec, spearman } from "../../src/tune/proxies.js";

test("on MNIST the gain proxy ranks noise-chain and blur-chain below independent", async () => {
  const data = await loadDataset("mnist", { limit: 256, cache: false, progress: false });
  const set = data.test;
  const x = T.tidy(() =>
    T.fromTyped(set.images, [set.n, set.c, set.h, set.w]).to("float32").div(127.5).sub(1),
  );
  try {
    const names = ["noise-chain", "independent", "blur-chain", "expressive"];
    const t0 = performance.now();
    const scores = names.map((n) => scoreSpec(x, parseSpec(n, 4), { draws: 2, seed: 0 }));
    const ms = performance.now() - t0;
    const ranked = rankBy(scores, "gain").map((i) => names[i]);
    assert.ok(ranked.indexOf("independent") < ranked.indexOf("noise-chain"), ranked.join(" > "));
    assert.ok(ranked.indexOf("independent") < ranked.indexOf("blur-chain"), ranked.join(" > "));
    assert.ok(scores[1]!.scores.gain > 0.02, `independent gain ${scores[1]!.scores.gain}`);
    for (const i of [0, 2])
      assert.ok(scores[i]!.scores.gain < 0.005, `${names[i]} gain ${scores[i]!.scores.gain}`);
    // Curves: one entry per earlier frame; frame 1 of noise-chain is pure noise (PSNR far below frame 3's).
    const chain = scores[0]!;
    assert.equal(chain.curves.psnr.length, 3);
    assert.equal(chain.curves.snr[0]!.length, 8);
    assert.ok(chain.curves.psnr[0]! + 5 < chain.curves.psnr[2]!);
    assert.equal(chain.scores.psnr, chain.curves.psnr[2]);
    // Seeded per spec: the same score scored again, after other specs.
    assert.deepEqual(scoreSpec(x, parseSpec("noise-chain", 4), { draws: 2, seed: 0 }).scores, chain.scores);
    assert.ok(ms < 60_000, `4 specs on 256 images took ${ms} ms`);
    // The image itself has no earlier frames: zero for every proxy.
    assert.deepEqual(scoreSpec(x, parseSpec("none", 4), { draws: 2, seed: 0 }).scores, {
      gain: 0,
      psnr: 0,
      ssim: 0,
      snr: 0,
    });
  } finally {
    x.dispose();
  }
});

test("spearman: average ranks for ties, as scipy.stats.spearmanr", () => {
  assert.ok(Math.abs(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])! - 0.8207826816681233) < 1e-12);
  assert.ok(Math.abs(spearman([3, 1, 2, 2], [0.5, 0.1, 0.3, 0.2])! - 0.9486832980505139) < 1e-12);
  assert.equal(spearman([1, 2, 3], [3, 2, 1]), -1);
  assert.equal(spearman([1, 2], [1, 2]), null);
  assert.equal(spearman([1, 1, 1], [1, 2, 3]), null);
});
