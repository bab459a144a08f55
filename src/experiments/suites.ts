// The paper's comparison and the seed's ablations as named suites of training rows.
//
// Every row of a suite trains one configuration for the same number of parameter updates at the same batch
// size (matched budgets); rows differ only in what the model sees: the plain image (T = 1), a first-order
// Markov pseudo video (noise-chain, blur-chain), an expressive one (independent, expressive), or a control
// (the image model on all frames as separate images: "only more data"; noise frames without the image:
// "no information").
//
// `compare` is the comparison built to answer the paper's question without handicaps of our own making: the VQ
// rows share one clean-image tokenizer per seed (they differ only in the prior), every video row weighs its last
// frame by the family's lastFrameWeight, the HVAE has a frame index, and the controls separate the explanations
// a better video row could have: more compute (`image-compute`: the image model with T× the updates, so frames
// seen and compute match the video rows), more augmented data (`distribution-augmentation`, Jun et al. 2020: one
// image model over all frames told the frame index, sampled at index T, never conditioned on earlier frames) and
// a video set-up without information (`noise-control`, `shuffle-control`). `--tokenizer per-row` gives every VQ row
// its own VQ-VAE on its own frames instead (the earlier suites' set-up), in another results folder.
//
// `warmstart` asks whether pseudo videos help an image model that is already trained: from the same seed's image
// run, one video HVAE fine-tuned on expressive pseudo videos (exact at step 0: its context and frame index start
// at zero) against the image model continued for the same frames processed (`image-continue`, T× the updates).
// `exposure` measures exposure bias: expressive video HVAEs without and with noise on their context frames in
// training (conditioning augmentation), each evaluated with later frames' context from drawn pixels and from the
// likelihood's mean. Both are HVAE-only: the VQ prior has no exact warm start (its attention over earlier frames is
// not zero at initialisation) and no pixel context.
import { ArgumentError } from "../errors.js";

export interface Row {
  /** Unique within a suite; also the run folder name (with the seed appended). */
  key: string;
  model: string;
  label: string;
  spec: string;
  frames: number;
  framesAsImages?: boolean;
  /** Hyperparameters the row sets on top of the preset (a control's attention or context). */
  hps?: Record<string, unknown>;
  /** Updates as a multiple of the budget's (image-compute: T). */
  stepsFactor?: number;
  /** VQ family: the prior starts from the seed's clean-image tokenizer; no VQ-VAE is trained for the row. */
  sharedTokenizer?: boolean;
  /** A warm start: the row starts from all weights of this row's run of the same seed (trained first). */
  warmFrom?: string;
}

export interface Budget {
  /** The model preset (tiny/small/standard) and parameter updates per stage. */
  preset: string;
  steps: number;
  batch: number;
  /** Images per split (null: all), generated samples and real images compared by the metrics. */
  limit: number | null;
  evalN: number;
  /** Train and test images of the linear probe. */
  probeImages: number;
  /** Training images held out for best-checkpoint selection (then selectBest is on), and evaluations per run. */
  validation?: number;
  evals?: number;
}

/**
 * quick: minutes per row; standard: the size behind published numbers, sized so that one run of a row takes about
 * an hour or less on one of this project's 2 cores with two jobs side by side (measured: 48-80 min for a `small`
 * video HVAE at T = 4, 15-30 min for a VQ video run); smoke: CI.
 */
export const budgets: Record<string, Budget> = {
  smoke: { preset: "tiny", steps: 6, batch: 8, limit: 256, evalN: 64, probeImages: 256 },
  quick: { preset: "tiny", steps: 300, batch: 32, limit: null, evalN: 1000, probeImages: 5000 },
  standard: { preset: "small", steps: 1000, batch: 32, limit: null, evalN: 5000, probeImages: 10000 },
  // A regime where image and video models converge on this machine: 1,000 training images (plus 200 held out for
  // validation), 3,000 updates of batch 32 (96 epochs), and the weights of the best of 12 validation scores.
  lowdata: {
    preset: "small",
    steps: 3000,
    batch: 32,
    limit: 1200,
    evalN: 1000,
    probeImages: 1000,
    validation: 200,
    evals: 12,
  },
};

export const suiteNames = [
  "main",
  "frames",
  "controls",
  "probe",
  "compare",
  "warmstart",
  "exposure",
] as const;

const T = 4;

function imageRow(model: string): Row {
  return { key: `${model}-image`, model, label: "image model (T = 1)", spec: "none", frames: 1 };
}
function videoRow(model: string, spec: string, frames = T): Row {
  return { key: `${model}-${spec}-t${frames}`, model, label: `video, ${spec}, T = ${frames}`, spec, frames };
}

/** The compare suite's rows of one family (see the header); `shared`: the VQ rows' tokenizer is the seed's. */
function compareRows(m: string, shared: boolean): Row[] {
  const vq = m === "vqvae";
  const rows: Row[] = [
    imageRow(m),
    {
      ...imageRow(m),
      key: `${m}-image-compute`,
      label: `image model, ${T}× updates (video rows' compute)`,
      stepsFactor: T,
    },
    videoRow(m, "independent"),
    videoRow(m, "expressive"),
    ...(vq ? [videoRow(m, "blur-chain")] : []),
    { ...videoRow(m, "noise-control"), label: `video, non-informative frames (noise), T = ${T}` },
    ...(vq
      ? [{ ...videoRow(m, "shuffle-control"), label: `video, another image's frames (shuffle), T = ${T}` }]
      : []),
    {
      ...videoRow(m, "expressive"),
      key: `${m}-distribution-augmentation-t${T}`,
      label: `distribution augmentation (expressive frames as images, frame index), T = ${T}`,
      // Every frame an image of its own: no earlier frames seen, all frames weighed alike (λ = 0: 1/T).
      hps: { [vq ? "attention" : "context"]: "none", lastFrameWeight: 0 },
    },
  ];
  return vq && shared ? rows.map((r) => ({ ...r, sharedTokenizer: true })) : rows;
}

/** The std (pixel units of [−1, 1], about 13 of 255 grey levels) of the exposure suite's context noise. */
const CONTEXT_NOISE = 0.1;

/** The warmstart and exposure suites' rows (see the header): HVAE only. */
function hvaeOnlyRows(suite: string, m: string): Row[] {
  if (m !== "hvae")
    throw new ArgumentError(
      `The ${suite} suite trains the hvae family only (its warm start and its pixel context are the HVAE's), not ${m}: pass --models hvae`,
    );
  if (suite === "exposure")
    return [
      videoRow(m, "expressive"),
      {
        ...videoRow(m, "expressive"),
        key: `${m}-expressive-ctxnoise-t${T}`,
        label: `video, expressive, noise σ = ${CONTEXT_NOISE} on context frames in training, T = ${T}`,
        hps: { contextNoise: CONTEXT_NOISE },
      },
    ];
  const image = imageRow(m);
  return [
    image,
    {
      ...image,
      key: `${m}-image-continue`,
      label: `image model continued, ${T}× updates (the warm video row's frames)`,
      stepsFactor: T,
      warmFrom: image.key,
    },
    {
      ...videoRow(m, "expressive"),
      key: `${m}-warm-expressive-t${T}`,
      label: `video, expressive, T = ${T}, started from the image model`,
      warmFrom: image.key,
    },
  ];
}

/** The rows the paired intervals compare every other row against: the image model and its compute control. */
export const baselineRows = (suite: string, m: string): string[] =>
  suite === "compare"
    ? [`${m}-image`, `${m}-image-compute`]
    : suite === "warmstart"
      ? [`${m}-image`, `${m}-image-continue`]
      : suite === "exposure"
        ? [`${m}-expressive-t${T}`]
        : [];

/** The spec the `frames` suite sweeps T for when none is chosen: the paper's expressive augmentation. */
export const defaultFramesSpec = "expressive";

/**
 * The rows of a suite for the given model families. `framesSpec` names, per family, the pseudo-video spec whose
 * number of frames the `frames` suite sweeps (the best one, where a `main` table says which that is).
 */
export function suiteRows(
  suite: string,
  models: string[],
  framesSpec: (model: string) => string = () => defaultFramesSpec,
  tokenizer: "shared" | "per-row" = "shared",
): Row[] {
  const rows: Row[] = [];
  for (const m of models) {
    switch (suite) {
      case "main":
        rows.push(
          imageRow(m),
          videoRow(m, "noise-chain"),
          videoRow(m, "blur-chain"),
          videoRow(m, "independent"),
          videoRow(m, "expressive"),
        );
        break;
      case "frames":
        rows.push(imageRow(m), ...[2, 4, 8].map((t) => videoRow(m, framesSpec(m), t)));
        break;
      case "controls":
        rows.push(
          imageRow(m),
          videoRow(m, "expressive"),
          {
            key: `${m}-data-size-t${T}`,
            model: m,
            label: `image model on all ${T} frames (data-size control)`,
            spec: "expressive",
            frames: T,
            framesAsImages: true,
          },
          { ...videoRow(m, "noise-control"), label: `video, non-informative frames (noise), T = ${T}` },
        );
        break;
      case "compare":
        rows.push(...compareRows(m, tokenizer === "shared"));
        break;
      case "warmstart":
      case "exposure":
        rows.push(...hvaeOnlyRows(suite, m));
        break;
      case "probe":
        rows.push(imageRow(m), videoRow(m, "noise-chain"), videoRow(m, "expressive"));
        break;
      default:
        throw new ArgumentError(
          `Unknown suite ${JSON.stringify(suite)}. Valid suites: ${suiteNames.join(", ")}`,
        );
    }
  }
  return rows;
}
