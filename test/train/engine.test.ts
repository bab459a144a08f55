// The training engine's gradient hook (src/train/engine.ts): called once per update, after backward, with the
// trained parameters' gradients; what it leaves in them is what clipping and AdamW see.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { hvaeFamily } from "../../src/models/hvae.js";
import { type Tensor, manualSeed, setNumThreads, tidy } from "../../src/tensor/index.js";
import { readCheckpoint } from "../../src/train/checkpoint.js";
import { type RunInput, completeWithData, resolveRunConfig } from "../../src/train/config.js";
import { loadRunData } from "../../src/train/data.js";
import { train } from "../../src/train/loop.js";

setNumThreads(1);
const root = mkdtempSync(join(tmpdir(), "lastframe-engine-"));
after(() => rmSync(root, { recursive: true, force: true }));

const tiny = (steps: number, train: RunInput["train"] = {}): RunInput => ({
  model: "hvae",
  preset: "tiny",
  data: { name: "mnist", limit: 200 },
  train: { steps, batch: 8, seed: 11, ...train },
  log: { evalEvery: steps, evalImages: 16, sampleEvery: steps, sampleN: 2, checkpointEvery: steps },
});

const trainRecords = (dir: string) =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string; lr: number; grad_norm: number; skipped: number })
    .filter((r) => r.type === "train");

/** The run's initial weights (the loop seeds with train.seed, then creates the model). */
async function initialWeights(input: RunInput): Promise<Map<string, Float32Array>> {
  const cfg = resolveRunConfig(input);
  const shape = completeWithData(cfg, (await loadRunData(cfg)).train);
  manualSeed(cfg.train.seed);
  const model = hvaeFamily.create(cfg.hps as never, shape);
  const weights = new Map([...model.stateDict()].map(([k, v]) => [k, v.data() as Float32Array]));
  model.dispose();
  return weights;
}

test("the gradient hook is called once per update with every trained parameter's gradient", async () => {
  const calls: { n: number; withGrad: number; gradAbs: number }[] = [];
  const gradHook = (params: Tensor[]) =>
    void calls.push(
      tidy(() => {
        const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
        return {
          n: params.length,
          withGrad: grads.length,
          gradAbs: grads.reduce((s, g) => s + g.abs().sum().item(), 0),
        };
      }),
    );
  const dir = join(root, "count");
  const res = await train(tiny(3), dir, { output: "quiet", gradHook });
  assert.equal(res.skipped, 0);
  assert.equal(calls.length, 3);
  const weights = await initialWeights(tiny(3));
  for (const c of calls) {
    // Every weight of the tiny HVAE is a trained parameter (it has no buffers) and receives a gradient.
    assert.equal(c.n, weights.size);
    assert.equal(c.withGrad, c.n);
    assert.ok(c.gradAbs > 0 && Number.isFinite(c.gradAbs), `sum |grad| = ${c.gradAbs}`);
  }
});

test("a hook that zeroes the gradients leaves AdamW's update as weight decay alone (clipping off)", async () => {
  const lrWd = { lr: 1e-3, warmup: 1, weightDecay: 0.1, gradClip: 1e30 };
  const w0 = await initialWeights(tiny(1, lrWd));
  const maxDeviation = async (name: string, gradHook?: (ps: Tensor[]) => void) => {
    const dir = join(root, name);
    await train(tiny(1, lrWd), dir, { output: "quiet", gradHook });
    const [rec] = trainRecords(dir);
    assert.equal(rec!.lr, 1e-3);
    const { tensors } = readCheckpoint(join(dir, "ckpt-000001"));
    let worst = 0;
    for (const [k, w] of tensors.model) {
      const before = w0.get(k)!;
      const after = w.data() as Float32Array;
      // Decoupled weight decay: w ← w·(1 − lr·wd); Adam's term m̂/(√v̂ + ε) is 0 when every gradient is 0.
      for (let i = 0; i < after.length; i++)
        worst = Math.max(worst, Math.abs(after[i]! - before[i]! * (1 - 1e-3 * 0.1)));
    }
    return { worst, gradNorm: rec!.grad_norm };
  };
  const zeroed = await maxDeviation("zero", (ps) =>
    tidy(() => {
      for (const p of ps) p.grad?.mul_(0);
    }),
  );
  assert.equal(zeroed.gradNorm, 0);
  assert.ok(zeroed.worst < 1e-7, `largest deviation from pure decay ${zeroed.worst}`);
  // Control: without the hook Adam moves weights by about lr, far from decay alone.
  const plain = await maxDeviation("plain");
  assert.ok(plain.gradNorm > 0);
  assert.ok(plain.worst > 5e-4, `largest deviation from pure decay ${plain.worst}`);
});
