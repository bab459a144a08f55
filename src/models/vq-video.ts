// The video counterpart of the code prior (vq-prior.ts): one sequence holds the codes of frames 1 … T of a pseudo
// video, frame-major and raster order within a frame, so the last g·g codes are those of the image. A position's
// embedding is the sum of a spatial one (the image prior's, shared by all frames) and a temporal one.
//
// Two variants, the paper's central comparison in prior form:
// - "full": every code attends to all earlier codes, p(z_t | z_1 … z_{t−1}).
// - "first-order": a Markov chain over frames, p(z_t | z_{t−1}), like the first-order augmentations. A block mask
//   ("attend to the current and the previous frame") is not enough: with several layers, a code of frame t−1 has
//   already gathered frame t−2 into its hidden state, so each layer would reach one frame further back. Instead the
//   transformer runs on windows [start token, frame t−1, frame t] with causal attention inside, their positions the
//   absolute ones of the video; frame t's codes are scored in window t, frame 1's in the first window. Sampling
//   draws frame t from a window whose cache holds only frame t−1.
//
// - "none": each frame's codes attend only to codes of the same frame; the temporal embedding still says which
//   frame it is. This is distribution augmentation (Jun et al. 2020): one image prior trained on every frame as a
//   separate image, told its frame index, and sampled at index T. It sees the augmented data without conditioning
//   on earlier frames: the "more (augmented) data" control. Each frame is its own window [start token, frame t].
//
// With T = 1 every variant is exactly the image prior: the temporal embedding starts at zero and there is one
// frame, hence one window.
import {
  type Tensor,
  arange,
  cat,
  expected,
  full,
  noGrad,
  raw,
  scalar,
  tidy,
  zeros,
} from "../tensor/index.js";
import { isPositiveInt } from "../errors.js";
import { CodePrior, type PriorConfig, type SampleOptions, sampleOptions } from "./vq-prior.js";

export type FrameAttention = "full" | "first-order" | "none";
export const frameAttentions: readonly FrameAttention[] = ["full", "first-order", "none"];

export class VideoCodePrior extends CodePrior {
  /** Embeddings of the frame index, added to the spatial position embeddings. */
  time: Tensor;

  constructor(
    cfg: PriorConfig,
    codes: number,
    perFrame: number,
    readonly frames: number,
    readonly attention: FrameAttention,
  ) {
    super(cfg, codes, perFrame, frames * perFrame);
    if (!isPositiveInt(frames)) throw expected("positive integer", "frames", frames);
    if (!frameAttentions.includes(attention))
      throw expected(`one of ${frameAttentions.join(", ")}`, "attention", attention);
    // Zero: at initialisation the video prior sees each frame as the image prior sees the image.
    this.time = this.param(zeros([frames, cfg.embd]));
  }

  /** Is p(z_t | z_<t) = p(z_t | z_{t−1})? */
  get #markov(): boolean {
    return this.attention === "first-order" && this.frames > 1;
  }

  protected override positionEmbeddings(start: number, n: number): Tensor {
    const p = arange(start, start + n);
    const S = this.positions;
    return this.pos.forward(p.remainder(S)).add(this.time.index([p.floorDiv(scalar(S, { dtype: "int64" }))]));
  }

  /** Frames independent given their index: p(z_t | t). */
  get #independent(): boolean {
    return this.attention === "none" && this.frames > 1;
  }

  override nll(codes: Tensor): Tensor {
    if (this.#independent) {
      const [B, L] = codes.shape as [number, number];
      const S = this.positions,
        T = this.frames;
      const frames = codes.view(B, T, S); // (B, T·S) → (B, T, S)
      // (T·S, D) → (T, S, D): every frame keeps its absolute positions (its temporal embedding).
      const positions = this.positionEmbeddings(0, L).view(T, S, -1);
      const x = this.tok.forward(this.inputs(frames)).add(positions);
      // (B, T, S, D) → (B·T, S, D) → logits → NLL (B, T·S)
      return this.codeNll(this.transform(x.reshape(B * T, S, -1)), frames.reshape(B * T, S)).view(B, L);
    }
    if (!this.#markov) return super.nll(codes);
    const [B, L] = codes.shape as [number, number];
    const S = this.positions,
      W = this.frames - 1;
    // (B, T·S) → (B, T − 1, 2S): window t holds frames t − 1 and t.
    const windows = raw.unfold(codes, 1, 2 * S, S);
    // (T·S, D) → (T − 1, 2S, D): each window keeps its tokens' absolute positions.
    const positions = raw.unfold(this.positionEmbeddings(0, L), 0, 2 * S, S).transpose(1, 2);
    const x = this.tok.forward(this.inputs(windows)).add(positions);
    // (B, T − 1, 2S, D) → (B·(T − 1), 2S, D) → logits → NLL (B, T − 1, 2S)
    const nll = this.codeNll(
      this.transform(x.reshape(B * W, 2 * S, -1)).view(B, W, 2 * S, this.codes),
      windows,
    );
    // Frame 1 from the first window's first half; frame t from window t's second half.
    return cat([nll.select(1, 0).narrow(1, 0, S), nll.narrow(2, S, S).reshape(B, W * S)], 1);
  }

  override sample(n: number, opts: SampleOptions = {}): Tensor {
    if (!this.#markov && !this.#independent) return super.sample(n, opts);
    if (!isPositiveInt(n)) throw expected("positive integer", "n", n);
    const o = sampleOptions(opts);
    const S = this.positions;
    return noGrad(() =>
      tidy(() => {
        const start = full([n, 1], this.codes, { dtype: "int64" });
        if (this.#independent)
          return cat(
            Array.from({ length: this.frames }, (_, t) => this.extend(start, t * S, S, o)),
            1,
          );
        const frames = [this.extend(start, 0, S, o)];
        for (let t = 1; t < this.frames; t++)
          frames.push(this.extend(cat([start, frames[t - 1]!], 1), (t - 1) * S, S, o));
        return cat(frames, 1);
      }),
    );
  }
}
