// Bench cases for the HVAE: one training step (loss, backward, clip, AdamW, as src/train/loop.ts does) of the
// image model and of the video model at T = 4, per preset, against the PyTorch twin in bench/twins_hvae.py.
import { hvaeFamily } from "../models/hvae.js";
import { AdamW, clipGradNorm } from "../nn/index.js";
import { rand, tidy } from "../tensor/index.js";
import type { BenchCase } from "./cases.js";

function hvaeCase(preset: "tiny" | "small" | "standard", frames: number, batch: number): BenchCase {
  const label = frames === 1 ? "image" : `video T=${frames}`;
  return {
    name: `hvae-${preset}-${frames === 1 ? "image" : `video${frames}`}`,
    description: `HVAE ${preset}, ${label}, train step on ${batch}×${frames}×1×32×32 (MNIST padded)`,
    items: batch,
    setup() {
      const model = hvaeFamily.create(hvaeFamily.resolve({}, preset), {
        channels: 1,
        size: 32,
        frames,
        pad: 2,
      });
      const opt = new AdamW(model.parameters(), { lr: 1e-3, betas: [0.9, 0.9], weightDecay: 0.01 });
      // Pixels on the 8-bit grid, as the loader produces them.
      const x = tidy(() => rand([batch, frames, 1, 32, 32]).mul(255).round().div(127.5).sub(1));
      const params = model.parameters();
      return {
        step: () =>
          tidy(() => {
            const { loss } = model.loss(x, "main");
            opt.zeroGrad();
            loss.backward();
            clipGradNorm(params, 200);
            opt.update();
          }),
        dispose: () => {
          model.dispose();
          opt.dispose();
          x.dispose();
        },
      };
    },
    twin: { case: "hvae", args: { preset, frames, batch } },
  };
}

export const hvaeCases: BenchCase[] = [
  hvaeCase("tiny", 1, 32),
  hvaeCase("tiny", 4, 32),
  hvaeCase("small", 1, 32),
  hvaeCase("small", 4, 32),
  hvaeCase("standard", 1, 32),
  hvaeCase("standard", 4, 32),
];
