// The VQ-VAE family through the shared training loop (src/train): stage by stage with an interruption inside the
// prior stage, then resumed, ends with exactly the weights of one uninterrupted run (codebook buffers included).
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadSafetensors } from "../../src/nn/index.js";
import { dispose, setNumThreads, tidy } from "../../src/tensor/index.js";
import { train } from "../../src/train/loop.js";
import type { RunInput } from "../../src/train/config.js";

// Tiny models: a second thread only adds synchronisation (and, on a loaded machine, long waits).
setNumThreads(1);

const input: RunInput = {
  model: "vqvae",
  preset: "tiny",
  data: { name: "mnist", limit: 128 },
  spec: "expressive",
  frames: 2,
  train: { steps: 6, batch: 16 },
  log: { evalImages: 16, sampleN: 4 },
};

function finalWeights(dir: string) {
  const last = readdirSync(dir)
    .filter((f) => f.startsWith("ckpt-"))
    .sort()
    .at(-1)!;
  assert.equal(last, "ckpt-000012");
  return loadSafetensors(join(dir, last, "model.safetensors")).tensors;
}

test("vqvae trained in one go equals stage 1 alone, then stage 2 interrupted and resumed", async () => {
  const root = mkdtempSync(join(tmpdir(), "lastframe-vq-"));
  try {
    const whole = join(root, "whole"),
      parts = join(root, "parts");
    const done = await train(input, whole, { output: "quiet" });
    assert.ok(done.finished && done.eval && Number.isFinite(done.eval.nats_per_code!));
    await train(input, parts, { output: "quiet", stage: "vqvae" });
    await assert.rejects(train(input, parts, { output: "quiet", resume: true, stage: "vqvae" }), {
      message: `Stage vqvae is already trained in ${parts}`,
    });
    const stopped = await train(input, parts, { output: "quiet", resume: true, stage: "prior", stopAt: 9 });
    assert.equal(stopped.finished, false);
    await train(input, parts, { output: "quiet", resume: true });
    const [a, b] = [finalWeights(whole), finalWeights(parts)];
    assert.ok(a.has("vqvae.vq.embed") && a.has("prior.time"));
    for (const [k, t] of a)
      assert.equal(
        tidy(() => t.sub(b.get(k)!).abs().max().item()),
        0,
        k,
      );
    dispose([a, b]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
