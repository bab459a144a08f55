// The HVAE and its video counterpart (src/models/hvae.ts, dmol.ts): the likelihood is a distribution over the 256
// pixel values, the KLs are right, the video model reduces to the image model, gradients reach every parameter.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DiscretisedLogistics } from "../../src/models/dmol.js";
import { HVAE, fitToSize, gaussianKL, hvaeFamily, parseDec, parseEnc } from "../../src/models/hvae.js";
import {
  type Tensor,
  ArgumentError,
  arange,
  cat,
  fromTyped,
  liveTensors,
  manualSeed,
  noGrad,
  randn,
  tidy,
  zeros,
} from "../../src/tensor/index.js";
import { assertClose } from "../helpers.js";

const tiny = hvaeFamily.resolve({}, "tiny");
const levels = () => arange(0, 256).float().div(127.5).sub(1); // the 256 pixel values in [−1, 1]

test("dmol: the probabilities of the 256 values of a grey pixel sum to 1", () => {
  manualSeed(1);
  tidy(() => {
    const d = new DiscretisedLogistics(8, 1, 4);
    // Scales from narrow (a few levels) to wide, means anywhere, including beyond the edges.
    for (const spread of [0.3, 1, 3]) {
      const h = randn([1, 8, 1, 1]).mul(spread).expand(256, 8, 1, 1);
      const logp = d.logProb(h, levels().reshape(256, 1, 1, 1)); // (256, 1, 1)
      assertClose([logp.logsumexp(0).item()], [0], 1e-5, `log Σ p (spread ${spread})`);
    }
    d.dispose();
  });
});

test("dmol: with coupled channels the joint over all 256 × 256 values of a 2-channel pixel sums to 1", () => {
  manualSeed(2);
  tidy(() => {
    const d = new DiscretisedLogistics(8, 2, 3);
    noGrad(() => d.conv.weight.mul_(3)); // strong couplings and varied scales
    const h = randn([1, 8, 1, 1]).expand(256 * 256, 8, 1, 1);
    const r = levels()
      .reshape(256, 1)
      .expand(256, 256)
      .reshape(256 * 256, 1, 1, 1);
    const g = levels()
      .reshape(1, 256)
      .expand(256, 256)
      .reshape(256 * 256, 1, 1, 1);
    assertClose(
      [
        d
          .logProb(h, cat([r, g], 1))
          .logsumexp(0)
          .item(),
      ],
      [0],
      1e-4,
      "log Σ_r Σ_g p(r, g)",
    );
    d.dispose();
  });
});

test("dmol: log-probability matches an independent formula for one pixel", () => {
  manualSeed(3);
  tidy(() => {
    const d = new DiscretisedLogistics(4, 1, 2);
    const h = randn([1, 4, 1, 1]);
    const params = d.conv.forward(h).toArray(); // [logit0, logit1, mean0, mean1, logs0, logs1]
    const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
    const expect = (k: number) => {
      const x = k / 127.5 - 1;
      const logits = params.slice(0, 2),
        norm = Math.log(Math.exp(logits[0]!) + Math.exp(logits[1]!));
      let p = 0;
      for (let m = 0; m < 2; m++) {
        const mean = params[2 + m]!,
          s = Math.exp(Math.max(params[4 + m]!, -7));
        const hi = k === 255 ? 1 : sigmoid((x + 1 / 255 - mean) / s);
        const lo = k === 0 ? 0 : sigmoid((x - 1 / 255 - mean) / s);
        p += Math.exp(logits[m]! - norm) * (hi - lo);
      }
      return Math.log(p);
    };
    const ks = [0, 17, 128, 254, 255];
    const x = fromTyped(new Float32Array(ks.map((k) => k / 127.5 - 1)), [ks.length, 1, 1, 1]);
    const got = d.logProb(h.expand(ks.length, 4, 1, 1), x).toArray();
    assertClose(got, ks.map(expect), 1e-4, "log p");
    d.dispose();
  });
});

test("dmol: the mean pixels equal the average of many samples, couplings included (3 channels)", () => {
  manualSeed(5);
  tidy(() => {
    const d = new DiscretisedLogistics(6, 3, 3);
    // Small scales (log-scale biases −3; the log scales follow the 3 logits and 9 means) and means well inside
    // (−1, 1), so that the clamp at the edges does not bias the average.
    noGrad(() => {
      d.conv.weight.mul_(0.3);
      d.conv.bias!.narrow(0, 12, 9).fill_(-3);
    });
    const h = randn([2, 6, 2, 2]);
    const mean = d.sample(h, true); // (2, 3, 2, 2)
    assert.deepEqual(mean.shape, [2, 3, 2, 2]);
    const draws = 20000;
    const avg = d
      .sample(
        h
          .unsqueeze(0)
          .expand(draws, 2, 6, 2, 2)
          .reshape(draws * 2, 6, 2, 2),
      )
      .reshape(draws, 2, 3, 2, 2)
      .mean([0]);
    assertClose(avg.toArray(), mean.toArray(), 0.01, "E[x] by Monte Carlo");
    d.dispose();
  });
});

test("gaussianKL is ≥ 0, zero for equal distributions, and matches a Monte-Carlo estimate", () => {
  manualSeed(4);
  tidy(() => {
    const [qm, qs, pm, ps] = [randn([6]), randn([6]).mul(0.5), randn([6]), randn([6]).mul(0.5)];
    const kl = gaussianKL(qm, qs, pm, ps);
    assert.ok(kl.toArray().every((v) => v >= 0));
    assertClose(gaussianKL(qm, qs, qm, qs).toArray(), new Array(6).fill(0), 1e-6, "KL(q‖q)");
    // E_q[log q(z) − log p(z)] with z ~ q, 200k draws per dimension.
    const eps = randn([200000, 6]);
    const z = qm.add(qs.exp().mul(eps));
    const logN = (v: Tensor, m: Tensor, s: Tensor) => v.sub(m).div(s.exp()).square().mul(-0.5).sub(s);
    const mc = logN(z, qm, qs)
      .sub(logN(z, pm, ps))
      .mean(0);
    assertClose(mc.toArray(), kl.toArray(), 0.03, "MC vs analytic KL");
  });
});

test("every latent group's KL is ≥ 0 and matches a Monte-Carlo estimate from its own q and p", () => {
  manualSeed(5);
  tidy(() => {
    const m = new HVAE(tiny, { channels: 1, size: 32, frames: 1 });
    // At initialisation q ≈ p ≈ N(0, 1) (zero-initialised prior, small activations); perturb every weight so that
    // each group's q and p are far apart and differ per example.
    noGrad(() => m.parameters().forEach((p) => p.add_(randn(p.shape).mul(0.05))));
    const x = randn([2, 1, 1, 32, 32]).clamp(-1, 1);
    const { groups } = noGrad(() => m.elbo(x));
    assert.equal(groups.length, parseDec(tiny.dec).length);
    for (const [i, g] of groups.entries()) {
      const kl = g.kl.toArray();
      assert.ok(
        kl.every((v) => v > 0),
        `group ${i}: KL ${kl}`,
      );
      const [qm, qs] = g.q,
        [pm, ps] = g.p;
      const draws = Math.max(200, Math.floor(1e6 / qm.numel)); // the standard error below accounts for fewer draws
      const z = qm.unsqueeze(0).add(
        qs
          .exp()
          .unsqueeze(0)
          .mul(randn([draws, ...qm.shape])),
      );
      const logN = (v: Tensor, mu: Tensor, s: Tensor) =>
        v.sub(mu.unsqueeze(0)).div(s.exp().unsqueeze(0)).square().mul(-0.5).sub(s.unsqueeze(0));
      const ratios = logN(z, qm, qs)
        .sub(logN(z, pm, ps))
        .sum([2, 3, 4]); // (draws, B)
      const mc = ratios.mean(0).toArray();
      const se = ratios.std(0).div(Math.sqrt(draws)).toArray();
      kl.forEach((v, b) =>
        assert.ok(
          Math.abs(mc[b]! - v) <= 4 * se[b]! + 1e-4,
          `group ${i}, example ${b}: MC ${mc[b]} ± ${se[b]} vs ${v}`,
        ),
      );
    }
    m.dispose();
  });
});

/** The image model with the video model's shared weights (everything but the context convs). */
function imageTwin(video: HVAE): HVAE {
  const image = new HVAE(video.cfg, { ...video.shape, frames: 1 });
  const shared = new Map(
    [...video.stateDict()].filter(([k]) => !k.includes(".ctx.") && !k.endsWith(".time")),
  );
  image.loadStateDict(shared);
  return image;
}

test("the video model has the image model's parameters plus a context conv and a frame embedding per group; T = 1 has none", () => {
  const video = new HVAE(tiny, { channels: 1, size: 32, frames: 4 });
  const one = new HVAE(tiny, { channels: 1, size: 32, frames: 1 });
  const names = (m: HVAE) => m.namedParameters().map(([k, t]) => `${k}:${t.shape}`);
  const groups = parseDec(tiny.dec).length;
  const extra = (part: string) => names(video).filter((k) => k.includes(part));
  assert.equal(extra(".ctx.").length, groups);
  assert.deepEqual(
    extra(".time:"),
    Array.from({ length: groups }, (_, i) => `dec.blocks.${i}.time:4,16,1,1`),
  );
  assert.deepEqual(
    names(video).filter((k) => !k.includes(".ctx.") && !k.includes(".time:")),
    names(one),
  );
  video.dispose();
  one.dispose();
});

test("a fresh video model scores every frame as the image model does; frame 1 always, whatever the context", () => {
  manualSeed(6);
  tidy(() => {
    for (const context of ["first-order", "full"] as const) {
      const video = new HVAE({ ...tiny, context }, { channels: 1, size: 32, frames: 3, pad: 2 });
      const image = imageTwin(video);
      const v = randn([2, 3, 1, 32, 32]).clamp(-1, 1).add(1).mul(127.5).round().div(127.5).sub(1);
      const asImages = v.reshape(6, 1, 1, 32, 32); // (B, T, C, H, W) → (B·T, 1, C, H, W)
      const perFrame = (m: HVAE, x: Tensor, seed: number) => {
        manualSeed(seed); // the same posterior draws: both models draw (B·T, …) noise per group in order
        const { distortion, rate } = noGrad(() => m.elbo(x));
        return distortion.add(rate).reshape(2, 3);
      };
      const want = perFrame(image, asImages, 7).toArray();
      assertClose(perFrame(video, v, 7).toArray(), want, 1e-5, `${context}: zero context`);
      // With the context switched on, later frames change but frame 1 (no earlier frames) does not.
      noGrad(() => video.dec.blocks.forEach((b) => b.ctx!.weight.normal_(0, 0.3)));
      const got = perFrame(video, v, 7);
      assertClose(
        got.select(1, 0).toArray(),
        perFrame(image, asImages, 7).select(1, 0).toArray(),
        1e-5,
        `${context}: frame 1`,
      );
      assert.ok(
        Math.abs(
          got
            .select(1, 2)
            .sub(perFrame(image, asImages, 7).select(1, 2))
            .sum()
            .item(),
        ) > 1e-3,
        `${context}: frame 3 sees its context`,
      );
      video.dispose();
      image.dispose();
    }
  });
});

test("T = 1: the loss is the image ELBO in nats/dim, bpd = loss / ln 2, last_bpd = bpd", () => {
  manualSeed(8);
  tidy(() => {
    const m = hvaeFamily.create(tiny, { channels: 1, size: 32, frames: 1, pad: 2 });
    const x = randn([3, 1, 1, 32, 32]).clamp(-1, 1);
    manualSeed(9);
    const { loss, stats } = m.loss(x, "main");
    manualSeed(9);
    const e = (m as HVAE).elbo(x);
    assertClose([loss.item()], [e.distortion.add(e.rate).mean().item()], 1e-6, "loss");
    assertClose([stats.bpd!.item()], [loss.item() / Math.LN2], 1e-6, "bpd");
    assertClose([stats.last_bpd!.item()], [stats.bpd!.item()], 1e-6, "last_bpd");
    // Padding is not data: 28×28×1 dimensions.
    assert.equal((m as HVAE).dims, 28 * 28);
    m.dispose();
  });
});

test("gradients reach every parameter of the video model (full context)", () => {
  manualSeed(10);
  const m = new HVAE(tiny, { channels: 1, size: 32, frames: 3 });
  // The zero-initialised convs (prior output, context) block gradients to what feeds them at step 0, as in
  // VDVAE; give them small values, as after a few updates.
  noGrad(() =>
    m.dec.blocks.forEach((b) => [b.prior.c4.weight, b.ctx!.weight].forEach((w) => w.normal_(0, 0.05))),
  );
  tidy(() => {
    const { loss } = m.loss(randn([2, 3, 1, 32, 32]).clamp(-1, 1), "main");
    loss.backward();
  });
  for (const [name, p] of m.namedParameters()) {
    const norm = tidy(() => p.grad?.norm().item() ?? NaN);
    assert.ok(Number.isFinite(norm) && norm > 0, `${name}: gradient norm ${norm}`);
  }
  m.dispose();
});

test("samples: (n, T, C, H, W) in [−1, 1] with the padding reset to −1; no tensor leaks", () => {
  manualSeed(11);
  const m = new HVAE(tiny, { channels: 1, size: 32, frames: 2, pad: 2 });
  const before = liveTensors();
  tidy(() => {
    const s = m.sample(3, { temperature: 0.8 });
    assert.deepEqual(s.shape, [3, 2, 1, 32, 32]);
    assert.ok(s.min().item() >= -1 && s.max().item() <= 1);
    const border = s.narrow(4, 0, 2);
    assert.ok(border.eq(-1).all().item());
    assert.ok(s.narrow(3, 2, 28).narrow(4, 2, 28).ne(-1).any().item());
  });
  tidy(() => {
    m.loss(zeros([1, 2, 1, 32, 32]), "main");
  });
  assert.equal(liveTensors(), before);
  m.dispose();
});

test("config errors name the key, token or preset and list the valid ones", () => {
  assert.throws(() => hvaeFamily.resolve({}, "huge"), {
    message: 'Unknown preset "huge" for model hvae. Valid presets: tiny, small, standard',
  });
  assert.throws(() => hvaeFamily.resolve({ widht: 3 } as object, "tiny"), {
    message:
      'Unknown hvae hyperparameter "widht". Valid: width, bottleneck, zdim, enc, dec, mixtures, context, lastFrameWeight, contextNoise',
  });
  assert.throws(() => hvaeFamily.resolve({ width: -1 }, "tiny"), {
    message: "Expected positive integer for hps.width but received -1 (number)",
  });
  assert.throws(() => hvaeFamily.resolve({ context: "second" as "full" }, "tiny"), {
    message: 'Expected one of first-order, full, none for hps.context but received "second" (string)',
  });
  assert.throws(() => parseEnc("32x2,32q2"), {
    message: 'Bad token "32q2" in hps.enc "32x2,32q2": expected <res>x<count> or <res>d<rate>',
  });
  assert.throws(() => parseEnc("32d2,8x1"), ArgumentError);
  assert.throws(() => parseDec("1x1,4m8"), ArgumentError);
  assert.throws(() => new HVAE({ ...tiny, enc: "24d2,12x1" }, { channels: 3, size: 64, frames: 1 }), {
    message:
      'Bad token "24d2" in hps.enc "24d2,12x1": expected a block at resolution 64 (the resolution reached so far)',
  });
});

test("a 32×32 preset grows one pooling block and one up-sampling group per doubling (64×64 CelebA)", () => {
  const m = new HVAE(tiny, { channels: 3, size: 64, frames: 2 });
  assert.equal(m.cfg.enc, "64d2,32d2,16d2,8d2,4d4,1x1");
  assert.equal(m.cfg.dec, "1x1,4m1,8m4,16m8,32m16,64m32");
  assert.equal(fitToSize(tiny, 32), tiny, "32×32 data uses the preset as written");
  tidy(() => {
    const videos = randn([2, 2, 3, 64, 64]).clamp(-1, 1);
    const { loss } = m.loss(videos, "main");
    assert.ok(Number.isFinite(loss.item()));
    assert.deepEqual(m.sample(2, { temperature: 1 }).shape, [2, 2, 3, 64, 64]);
  });
  m.dispose();
});
