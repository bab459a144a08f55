// Pseudo videos from images: the image is the last frame and the spec's operators make the earlier ones. In
// direct order all T - 1 earlier frames of all videos are one batch of B·(T-1) images corrupted at once; in
// chain order frame t is made from frame t + 1, one batch of B per step. Randomness comes from libtorch's
// global generator in a fixed order, so manualSeed / getRngState reproduce and resume it exactly.
import { type Tensor, cat, check, isFloating, rand, stack, tensor, tidy } from "../tensor/index.js";
import { operators } from "./operators.js";
import type { MixTerm, OpTerm, Term, VideoSpec } from "./spec.js";

/** Which rows a batch holds: every video × the listed earlier frames (0-based, frame 1 is 0), video-major. */
interface Layout {
  videos: number;
  frames: number[];
  total: number;
}

/** images (B, C, H, W) in [-1, 1] → videos (B, T, C, H, W) whose last frame is `images` exactly. */
export function makeVideos(images: Tensor, spec: VideoSpec): Tensor {
  check(images.rank === 4, () => `makeVideos: images must be (B, C, H, W), got shape [${images.shape}]`);
  check(isFloating(images.dtype), () => `makeVideos: images must be floats in [-1, 1], got ${images.dtype}`);
  const b = images.size(0);
  check(
    !spec.shuffle || b >= 2 || spec.frames === 1,
    () =>
      `makeVideos: ${spec.name} takes earlier frames from another image, so it needs a batch of at least 2 images, got ${b}`,
  );
  return tidy(() => {
    if (spec.frames === 1) return images.unsqueeze(1);
    const earlier = spec.order === "chain" ? chainFrames(images, spec) : directFrames(images, spec);
    // Roll the batch: video i's earlier frames become video i+1's.
    const shown = spec.shuffle ? earlier.roll(1, 0) : earlier;
    return cat([shown, images.unsqueeze(1)], 1);
  });
}

function directFrames(x: Tensor, spec: VideoSpec): Tensor {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  const k = spec.frames - 1;
  const layout: Layout = { videos: b, frames: Array.from({ length: k }, (_, i) => i), total: b * k };
  // (B, C, H, W) → (B·(T-1), C, H, W): every earlier frame starts from the image itself
  let v = x
    .unsqueeze(1)
    .expand(b, k, c, h, w)
    .reshape(b * k, c, h, w);
  for (const term of spec.ops) v = applyTerm(term, v, layout, spec.frames);
  return v.reshape(b, k, c, h, w);
}

function chainFrames(x: Tensor, spec: VideoSpec): Tensor {
  const b = x.size(0);
  const frames: Tensor[] = [];
  let v = x;
  for (let f = spec.frames - 2; f >= 0; f--) {
    for (const term of spec.ops) v = applyTerm(term, v, { videos: b, frames: [f], total: b }, spec.frames);
    frames[f] = v;
  }
  return stack(frames, 1);
}

function applyTerm(term: Term, v: Tensor, layout: Layout, t: number): Tensor {
  return term.op === "mix" ? applyMix(term, v, layout, t) : applyOp(term, v, layout, t);
}

/** Applies one operator to every row of v, or to the rows listed in `only` (v then holds just those rows). */
function applyOp(term: OpTerm, v: Tensor, layout: Layout, t: number, only?: Tensor): Tensor {
  const op = operators[term.op];
  const pick = (x: Tensor | null) => (x === null || only === undefined ? x : x.indexSelect(0, only));
  const s = pick(strengths(term, layout, t))!;
  const shape = v.shape.slice(1);
  const draw =
    term.draws === "video"
      ? pick(perVideo(op.draw(layout.videos, shape, term.params), layout))
      : op.draw(v.size(0), shape, term.params);
  return op.apply(v, s.to(v.dtype), draw, term.params);
}

/** (B, …) → (rows, …): the same value for every frame of a video. */
function perVideo(t: Tensor | null, layout: Layout): Tensor | null {
  if (t === null) return null;
  const [b, ...rest] = t.shape as number[];
  const f = layout.frames.length;
  return t
    .unsqueeze(1)
    .expand(b!, f, ...rest)
    .reshape(b! * f, ...rest);
}

/** One strength per row (rows,): the schedule's value at each row's frame, or a per-video velocity, jittered. */
function strengths(term: OpTerm, layout: Layout, t: number): Tensor {
  let s: Tensor;
  const schedule = term.strength;
  if (Array.isArray(schedule)) {
    s = tensor(layout.frames.map((f) => schedule[f]!))
      .unsqueeze(0)
      .expand(layout.videos, layout.frames.length);
  } else {
    const { min, max } = schedule;
    const speed = rand([layout.videos, 1])
      .mul(max - min)
      .add(min);
    // Frame f (0-based) is T - 1 - f steps away from the image.
    s = speed.mul(tensor(layout.frames.map((f) => t - 1 - f)).unsqueeze(0)).clamp(0, 1);
  }
  if (term.jitter > 0) s = s.mul(rand(s.shape).mul(2).sub(1).mul(term.jitter).add(1)).clamp(0, 1);
  return s.reshape(layout.total);
}

function applyMix(term: MixTerm, v: Tensor, layout: Layout, t: number): Tensor {
  const total = term.weights.reduce((a, w) => a + w, 0);
  const u = term.draws === "video" ? perVideo(rand([layout.videos]), layout)! : rand([layout.total]);
  // Child j is picked when u lands in its share of [0, 1).
  const bounds = term.weights.map((_, j) =>
    j + 1 === term.weights.length
      ? Infinity
      : term.weights.slice(0, j + 1).reduce((a, w) => a + w, 0) / total,
  );
  const picks = u.toArray().map((x) => bounds.findIndex((b) => x < b));
  // Each child corrupts only its own rows (a few hundred row indices, not pixels); the rows then go back in place.
  const parts: Tensor[] = [];
  const order: number[] = [];
  term.of.forEach((child, j) => {
    const rows = picks.flatMap((p, i) => (p === j ? [i] : []));
    if (rows.length === 0) return;
    const only = tensor(rows, undefined, { dtype: "int64" });
    parts.push(applyOp(child, v.indexSelect(0, only), layout, t, only));
    order.push(...rows);
  });
  const inverse = new Array<number>(order.length);
  order.forEach((row, i) => (inverse[row] = i));
  return cat(parts, 0).indexSelect(0, tensor(inverse, undefined, { dtype: "int64" }));
}
