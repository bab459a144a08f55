// Pseudo videos: the image is the last frame exactly, seeds reproduce and resume, chains are what they claim
// (DDPM marginals, repeated blurring), controls carry no information, and draws, velocities, jitter and
// mixtures behave as specified.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as T from "../../src/tensor/index.js";
import { type OpTerm, makeVideos, operators, parseSpec, presetNames } from "../../src/video/index.js";
import { assertClose } from "../helpers.js";

const images = (shape: number[], seed = 1) => {
  T.manualSeed(seed);
  return T.rand(shape).mul(2).sub(1);
};
const values = (t: T.Tensor) => Array.from(t.contiguous().data() as Float32Array);
/** Frame f (0-based) of every video. */
const frame = (v: T.Tensor, f: number) => v.select(1, f);

test("every preset keeps the image as the last frame, exactly; T = 1 is the image alone", () => {
  T.tidy(() => {
    const x = images([3, 3, 12, 12]);
    for (const name of presetNames) {
      const spec = parseSpec(name, 5);
      const v = makeVideos(x, spec);
      assert.deepEqual(v.shape, [3, spec.frames, 3, 12, 12], name);
      assert.deepEqual(values(frame(v, spec.frames - 1)), values(x), `${name}: last frame`);
      assert.ok(v.isfinite().all().item(), `${name}: finite`);
      const single = makeVideos(x, parseSpec(name, 1));
      assert.deepEqual(single.shape, [3, 1, 3, 12, 12]);
      assert.deepEqual(values(single), values(x));
    }
  });
});

test("a seed reproduces videos and the generator state resumes them", () => {
  T.tidy(() => {
    const x = images([4, 3, 8, 8]);
    for (const name of ["expressive", "noise-chain", "momentum"]) {
      const spec = parseSpec(name, 6);
      T.manualSeed(11);
      const a = values(makeVideos(x, spec));
      T.manualSeed(11);
      assert.deepEqual(values(makeVideos(x, spec)), a, `${name} under one seed`);
      const state = T.getRngState();
      const next = values(makeVideos(x, spec));
      assert.notDeepEqual(next, a, `${name}: the next batch differs`);
      T.setRngState(state);
      assert.deepEqual(values(makeVideos(x, spec)), next, `${name} resumed`);
    }
  });
});

test("noise-chain: frames follow DDPM's closed form q(v_t | x) = N(√ᾱ_t x, (1 - ᾱ_t) I) and form a chain", () => {
  T.tidy(() => {
    const frames = 6;
    const spec = parseSpec("noise-chain", frames);
    const steps = (spec.ops[0] as OpTerm).strength as number[];
    // DDPM: β_t = sin²(πs_t/2) per step, ᾱ_t = Π (1 - β) over the steps from the image down to frame t.
    const alphaBar = steps.map((_, k) =>
      steps.slice(k).reduce((p, s) => p * Math.cos((Math.PI / 2) * s) ** 2, 1),
    );
    // The preset's marginal schedule: frame k at strength (T - k) / (T - 1), i.e. ᾱ = cos²(π/2 · that).
    assertClose(
      alphaBar,
      [1, 0.8, 0.6, 0.4, 0.2].map((m) => Math.cos((Math.PI / 2) * m) ** 2),
      1e-9,
      "ᾱ",
    );
    const x = images([64, 1, 16, 16]);
    T.manualSeed(2);
    const v = makeVideos(x, spec);
    const n = x.numel;
    for (let k = 0; k < frames - 1; k++) {
      const a = alphaBar[k]!;
      const r = frame(v, k).sub(x.mul(Math.sqrt(a)));
      const mean = r.mean().item();
      const variance = r.var().item();
      assert.ok(Math.abs(mean) < 5 * Math.sqrt((1 - a) / n), `frame ${k + 1}: residual mean ${mean}`);
      if (a < 1)
        assert.ok(
          Math.abs(variance / (1 - a) - 1) < 5 * Math.sqrt(2 / n),
          `frame ${k + 1}: variance ${variance} vs ${1 - a}`,
        );
      // The regression of the frame on x recovers √ᾱ.
      const xc = x.sub(x.mean());
      const slope = frame(v, k).mul(xc).sum().item() / xc.square().sum().item();
      assert.ok(
        Math.abs(slope - Math.sqrt(a)) < 5 * Math.sqrt((1 - a) / xc.square().sum().item()) + 1e-6,
        `frame ${k + 1}: slope ${slope}`,
      );
    }
    // A chain shares noise between neighbours: Cov(v_k, v_{k+1} | x) = √(ᾱ_k / ᾱ_{k+1}) (1 - ᾱ_{k+1}).
    const [k, a0, a1] = [2, alphaBar[2]!, alphaBar[3]!];
    const r0 = frame(v, k).sub(x.mul(Math.sqrt(a0)));
    const r1 = frame(v, k + 1).sub(x.mul(Math.sqrt(a1)));
    const cov = r0.mul(r1).mean().item();
    const expected = Math.sqrt(a0 / a1) * (1 - a1);
    assert.ok(
      Math.abs(cov - expected) < 5 * Math.sqrt(((1 - a0) * (1 - a1)) / n),
      `covariance ${cov} vs ${expected}`,
    );
  });
});

test("blur-chain: every frame is the next frame blurred again plus fresh noise, drawn in order", () => {
  T.tidy(() => {
    const frames = 5;
    const spec = parseSpec("blur-chain", frames);
    const [blur, noise] = spec.ops as OpTerm[];
    const x = images([3, 3, 16, 16]);
    T.manualSeed(9);
    const v = makeVideos(x, spec);
    T.manualSeed(9);
    let ref = x;
    for (let k = frames - 2; k >= 0; k--) {
      ref = operators.blur.apply(ref, T.full([3], (blur!.strength as number[])[k]!), null, blur!.params);
      const s = (noise!.strength as number[])[k]!;
      const eps = T.randn([3, 3, 16, 16]);
      ref = ref.mul(Math.cos((Math.PI / 2) * s)).add(eps.mul(Math.sin((Math.PI / 2) * s)));
      assertClose(values(frame(v, k)), values(ref), 1e-5, `frame ${k + 1}`);
    }
    // Without the noise, the repeated blurs add up to one blur at the marginal strength of each frame.
    const marginal = [0.6, 0.4, 0.3, 0.1];
    const clean = makeVideos(
      x,
      parseSpec({ order: "chain", ops: [{ op: "blur", strength: marginal, marginal: true }] }, frames),
    );
    for (let k = 0; k < frames - 1; k++)
      assertClose(
        values(frame(clean, k)),
        values(operators.blur.apply(x, T.full([3], marginal[k]!), null, { sigma: 0.5 })),
        1e-5,
        `marginal ${k + 1}`,
      );
  });
});

test("noise-control frames are noise at noise-chain's levels, shuffle-control frames come from the next image's video", () => {
  T.tidy(() => {
    const x = images([4, 3, 8, 8]);
    T.manualSeed(3);
    const v = makeVideos(x, parseSpec("noise-control", 5));
    T.manualSeed(3);
    // Exactly the generator's normal draws scaled by sin(πs/2), s = 1, 3/4, 1/2, 1/4: nothing of x is left.
    const scale = T.tensor([1, 0.75, 0.5, 0.25].map((s) => Math.sin((Math.PI * s) / 2))).reshape(
      1,
      4,
      1,
      1,
      1,
    );
    assertClose(values(v.narrow(1, 0, 4)), values(T.randn([4, 4, 3, 8, 8]).mul(scale)), 1e-6, "noise frames");
    T.manualSeed(4);
    const shuffled = makeVideos(x, parseSpec("shuffle-control", 5));
    T.manualSeed(4);
    const plain = makeVideos(x, parseSpec("expressive", 5));
    assert.deepEqual(values(shuffled.narrow(1, 0, 4)), values(plain.narrow(1, 0, 4).roll(1, 0)));
    assert.deepEqual(values(frame(shuffled, 4)), values(x));
    assert.throws(() => makeVideos(x.narrow(0, 0, 1), parseSpec("shuffle-control", 5)), {
      message:
        "makeVideos: shuffle-control takes earlier frames from another image, so it needs a batch of at least 2 images, got 1",
    });
  });
});

/** The strength a fade applied to each frame, recovered from one pixel: v = x + s (mean - x). */
function fadeStrengths(v: T.Tensor, x: T.Tensor): number[][] {
  const [b, t] = v.shape as [number, number];
  const gap = x.mean([2, 3], true).sub(x).select(1, 0).select(1, 0).select(1, 0).toArray();
  const px = v.select(2, 0).select(2, 0).select(2, 0).toArray();
  const img = x.select(1, 0).select(1, 0).select(1, 0).toArray();
  return Array.from({ length: b }, (_, i) =>
    Array.from({ length: t - 1 }, (_, k) => (px[i * t + k]! - img[i]!) / gap[i]!),
  );
}

test("a velocity moves the strength by a per-video speed each frame; jitter stays within its band", () => {
  T.tidy(() => {
    const frames = 6;
    const x = images([8, 1, 6, 6]);
    const v = makeVideos(
      x,
      parseSpec({ ops: [{ op: "fade", strength: { schedule: "velocity", min: 0.05, max: 0.18 } }] }, frames),
    );
    const speeds = fadeStrengths(v, x).map((s, i) => {
      const speed = s[frames - 2]!;
      assertClose(
        s,
        s.map((_, k) => speed * (frames - 1 - k)),
        1e-4,
        `video ${i}`,
      );
      assert.ok(speed >= 0.05 - 1e-6 && speed <= 0.18 + 1e-6, `speed ${speed}`);
      return speed;
    });
    assert.ok(new Set(speeds.map((s) => s.toFixed(4))).size > 4, "speeds differ between videos");
    const jittered = fadeStrengths(
      makeVideos(x, parseSpec({ ops: [{ op: "fade", strength: 0.5, jitter: 0.4 }] }, frames)),
      x,
    ).flat();
    assert.ok(
      jittered.every((s) => s >= 0.3 - 1e-4 && s <= 0.7 + 1e-4),
      `jittered ${jittered}`,
    );
    assert.ok(Math.max(...jittered) - Math.min(...jittered) > 0.15, "jitter varies the strength");
  });
});

test("draws once per video make nested masks; fresh draws make unrelated ones", () => {
  T.tidy(() => {
    const x = images([6, 1, 16, 16]).abs().add(0.1); // no pixel equals the fill value 0
    const masks = (draws: string) =>
      makeVideos(
        x,
        parseSpec({ ops: [{ op: "mask", strength: [0.8, 0.5, 0.2], draws, params: { patch: 0.25 } }] }, 4),
      ).eq(0);
    const nestedBroken = (m: T.Tensor) =>
      m
        .narrow(1, 1, 2)
        .logicalAnd(m.narrow(1, 0, 2).logicalNot())
        .to("float32")
        .sum()
        .item();
    assert.equal(nestedBroken(masks("video")), 0);
    assert.ok(nestedBroken(masks("frame")) > 0);
  });
});

test("a mix picks its operators in proportion to the weights, per video or per frame", () => {
  T.tidy(() => {
    const x = images([400, 1, 2, 2]);
    const pick = (draws: string) => {
      const spec = parseSpec(
        {
          ops: [
            {
              op: "mix",
              draws,
              weights: [1, 3],
              of: [-1, 1].map((fill) => ({ op: "mask", strength: 1, params: { shape: "rows", fill } })),
            },
          ],
        },
        3,
      );
      return makeVideos(x, spec).narrow(1, 0, 2).amax([2, 3, 4]); // (400, 2): -1 or 1 per frame
    };
    const perVideo = pick("video");
    assert.deepEqual(values(perVideo.select(1, 0)), values(perVideo.select(1, 1)), "one choice per video");
    const perFrame = pick("frame");
    for (const p of [perVideo, perFrame]) {
      const share = p.eq(1).to("float32").mean().item();
      assert.ok(Math.abs(share - 0.75) < 0.09, `share of the second operator ${share}`);
    }
    assert.ok(
      perFrame.select(1, 0).ne(perFrame.select(1, 1)).any().item(),
      "fresh choices differ between frames",
    );
  });
});

test("makeVideos checks its input and leaves no tensors behind", () => {
  T.tidy(() => {
    const x = images([2, 3, 8, 8]);
    assert.throws(() => makeVideos(x.select(0, 0), parseSpec("expressive", 4)), {
      message: "makeVideos: images must be (B, C, H, W), got shape [3,8,8]",
    });
    assert.throws(() => makeVideos(x.to("uint8"), parseSpec("expressive", 4)), {
      message: "makeVideos: images must be floats in [-1, 1], got uint8",
    });
    const specs = presetNames.map((name) => parseSpec(name, 4));
    for (const spec of specs) makeVideos(x, spec).dispose(); // warm the cached matrices
    const before = T.liveTensors();
    for (const spec of specs) makeVideos(x, spec).dispose();
    assert.equal(T.liveTensors(), before);
  });
});
