// Named pseudo-video specs. Each is a function of T (the number of frames, the image last) returning the JSON a
// user could write (spec.ts describes the format). A spec is first-order Markov when each frame, given the next
// cleaner one, is independent of all cleaner frames: then the earlier frames carry no information about the
// image beyond what the frame just before it does, and a video model gains nothing over an image model that
// denoises one step at a time. `lastframe video --metrics` measures this as the higher-order gain.
//
// (a) First-order Markov chains: every frame made from the next cleaner frame only, with fresh randomness.
//   noise-chain      DDPM's forward process: v_t = cos(πs_t/2) v_{t+1} + sin(πs_t/2) ε_t. The steps follow a
//                    cosine schedule of marginal signal levels ᾱ, from ᾱ = cos²(π/2 · 1/(T-1)) at frame T - 1 to
//                    pure noise at frame 1. Markov by construction: ε_t is fresh and independent of every
//                    cleaner frame.
//   blur-chain       IHDM-style: each frame is the next frame blurred again, plus a little fresh noise (σ ≈ 0.03).
//                    The blur steps are sized so the total σ is log-spaced from 0.5 pixel (frame T - 1, at 32
//                    pixels) to a third of the image side (frame 1). Markov for the same reason as noise-chain:
//                    a deterministic function of the next frame plus independent noise.
// (b) Expressive, higher-order: every frame made from the image itself, so earlier frames hold information
//     that the frame before the target has already lost or never had.
//   independent      each frame an independent corruption of x: random patches masked (a fresh mask per
//                    frame) and fresh Gaussian noise, both with linear schedules and jittered strengths. The
//                    frames reveal different patches and independent noise, so together they reveal more of x
//                    than any one of them: not Markov of any finite order below T - 1.
//   momentum         a trajectory: the image drifts in a direction drawn once per video at a speed drawn once
//                    per video, and blurs at its own speed. Position and blur move with constant velocity, so
//                    the change from one frame to the next is predictable from two frames but not from one
//                    (second order), and the speed is a hidden per-video variable.
//   mixture          each frame picks one operator at random (blur, pixelation, patch masking or noise) with
//                    fresh randomness: different frames keep different aspects of x (its coarse layout, its
//                    colours, its exact pixels in some patches), so their combination is informative.
//   expressive       the recommended preset: each frame a random choice of blur, pixelation or patch masking,
//                    composed with light fresh noise and jittered strengths. Higher-order like mixture, with
//                    frames that stay recognisable and a gentler noise floor.
// (c) Controls for "is it only more data?":
//   none             T = 1: the plain image, an image model.
//   noise-control    noise-chain's frames with the image taken out: frame t is fresh Gaussian noise around mid
//                    grey at noise-chain's noise level for frame t (pure noise at frame 1, std sin(π/(2(T-1)))
//                    at frame T - 1). The earlier frames carry no information about x, but each says which
//                    frame it is, as noise-chain's do: a video model without a frame index (the HVAE's) could
//                    not tell frame T from the frames before it if they were all the same pure noise.
//   shuffle-control  expressive's videos with frames 1 … T - 1 taken from the video of another image in the
//                    batch: every frame has expressive's marginal statistics and temporal structure, and the
//                    model sees as many real-image frames, but none of them says anything about the last frame.
import type { OpInput, SpecInput } from "./spec-input.js";

const expressive = (): SpecInput => ({
  ops: [
    {
      op: "mix",
      of: [
        { op: "blur", strength: { schedule: "geometric", min: 0.03, max: 0.6 }, jitter: 0.3 },
        { op: "pixelate", strength: { schedule: "linear", min: 0.2, max: 0.85 }, jitter: 0.2 },
        { op: "mask", strength: { schedule: "linear", min: 0.15, max: 0.9 }, jitter: 0.2 },
      ],
    },
    { op: "noise", strength: { schedule: "linear", min: 0.03, max: 0.2 }, jitter: 0.5 },
  ],
});

const mixtureOps = (): OpInput[] => [
  { op: "blur", strength: { schedule: "geometric", min: 0.03, max: 1 } },
  { op: "pixelate", strength: { schedule: "linear", max: 1 } },
  { op: "mask", strength: { schedule: "linear", max: 1 } },
  { op: "noise", strength: { schedule: "linear", max: 1 } },
];

export const presets: Record<string, (frames: number) => SpecInput> = {
  none: () => ({ ops: [] }),
  "noise-chain": () => ({
    order: "chain",
    ops: [{ op: "noise", strength: { schedule: "linear", max: 1 }, marginal: true }],
  }),
  "blur-chain": () => ({
    order: "chain",
    ops: [
      // Marginal σ log-spaced from 0.5 px to a third of the side (at 32 px) as in IHDM, made by blurring the next
      // frame again; the small fresh noise at every step is what IHDM adds to make the reverse steps stochastic.
      { op: "blur", strength: { schedule: "geometric", min: 0.03, max: 0.66 }, marginal: true },
      { op: "noise", strength: 0.02 },
    ],
  }),
  independent: () => ({
    ops: [
      { op: "mask", strength: { schedule: "linear", max: 0.9 }, jitter: 0.3 },
      { op: "noise", strength: { schedule: "linear", max: 0.5 }, jitter: 0.3 },
    ],
  }),
  momentum: () => ({
    ops: [
      {
        op: "shift",
        strength: { schedule: "velocity", min: 0.03, max: 0.1 },
        draws: "video",
        params: { padding: "border" },
      },
      { op: "blur", strength: { schedule: "velocity", min: 0.02, max: 0.12 }, draws: "video" },
    ],
  }),
  mixture: () => ({ ops: [{ op: "mix", of: mixtureOps() }] }),
  expressive,
  "noise-control": () => ({
    ops: [
      { op: "mask", strength: 1, params: { shape: "box" } }, // every pixel mid grey: nothing of x is left
      { op: "noise", strength: { schedule: "linear", max: 1 } },
    ],
  }),
  "shuffle-control": () => ({ ...expressive(), shuffle: true }),
};
