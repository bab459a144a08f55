// Bench cases for the DDPM: one training step (ε-loss, backward, clip at 1, AdamW, as src/train/loop.ts does) of
// the image model and of the video model at T = 4 against the PyTorch twin in bench/twins_ddpm.py, and DDIM
// sampling throughput at 50 steps (no twin). Dropout is off (the twin has none).
import { ddpmFamily } from "../models/ddpm.js";
import { AdamW, clipGradNorm } from "../nn/index.js";
import { rand, tidy } from "../tensor/index.js";
import type { BenchCase } from "./cases.js";

const shape = (frames: number) => ({ channels: 1, size: 32, frames, pad: 2 });
const create = (preset: string, frames: number) =>
  ddpmFamily.create(ddpmFamily.resolve({ dropout: 0 }, preset), shape(frames));

function trainCase(preset: "tiny" | "small", frames: number, batch: number): BenchCase {
  return {
    name: `ddpm-${preset}-${frames === 1 ? "image" : `video${frames}`}`,
    description: `DDPM ${preset}, ${frames === 1 ? "image" : `video T=${frames}`}, train step on ${batch}×${frames}×1×32×32`,
    items: batch,
    setup() {
      const model = create(preset, frames);
      const params = model.parameters();
      const opt = new AdamW(params, { lr: 1e-3, betas: [0.9, 0.999], weightDecay: 0 });
      // Pixels on the 8-bit grid, as the loader produces them.
      const x = tidy(() => rand([batch, frames, 1, 32, 32]).mul(255).round().div(127.5).sub(1));
      return {
        step: () =>
          tidy(() => {
            const { loss } = model.loss(x, "main");
            opt.zeroGrad();
            loss.backward();
            clipGradNorm(params, 1);
            opt.update();
          }),
        dispose: () => {
          model.dispose();
          opt.dispose();
          x.dispose();
        },
      };
    },
    twin: { case: "ddpm", args: { preset, frames, batch } },
  };
}

function samplingCase(preset: "tiny" | "small", n: number): BenchCase {
  return {
    name: `ddpm-${preset}-ddim50`,
    description: `DDPM ${preset}: ${n} images by DDIM with 50 steps, batched, no-grad`,
    items: n,
    repeat: { warmup: 1, rounds: 2, steps: 1 },
    setup() {
      const model = create(preset, 1).eval();
      return {
        step: () => tidy(() => void model.sample(n, { sampler: "ddim", steps: 50 })),
        dispose: () => model.dispose(),
      };
    },
  };
}

export const ddpmCases: BenchCase[] = [
  trainCase("tiny", 1, 32),
  trainCase("tiny", 4, 32),
  trainCase("small", 1, 32),
  samplingCase("tiny", 64),
];
