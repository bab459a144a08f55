// A validation split and best-checkpoint selection (data.validation, train.selectBest; src/train/best.ts).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { setNumThreads } from "../../src/tensor/index.js";
import { type RunInput, resolveRunConfig } from "../../src/train/config.js";
import { loadRunData } from "../../src/train/data.js";
import { train } from "../../src/train/loop.js";
import { closeRun, openRun } from "../../src/run/run.js";
import { readBest } from "../../src/train/best.js";

setNumThreads(1);
const root = mkdtempSync(join(tmpdir(), "lastframe-best-"));
after(() => rmSync(root, { recursive: true, force: true }));

const input = (o: { validation?: number; selectBest?: boolean; limit?: number } = {}): RunInput => ({
  model: "hvae",
  preset: "tiny",
  data: { name: "mnist", limit: o.limit ?? 300, validation: o.validation ?? 100 },
  train: { steps: 40, batch: 16, seed: 1, selectBest: o.selectBest ?? true, lr: 2e-2 },
  log: { evalEvery: 10, evalImages: 64, sampleEvery: 40, sampleN: 4, checkpointEvery: 40 },
});

test("the validation split is the train split's last images, never trained on", async () => {
  const cfg = resolveRunConfig(input());
  const all = await loadRunData(resolveRunConfig({ ...input({ validation: 0, selectBest: false }) }));
  const d = await loadRunData(cfg);
  assert.equal(d.train.n, 200);
  assert.equal(d.validation!.n, 100);
  const per = all.train.c * all.train.h * all.train.w;
  assert.deepEqual(d.validation!.images, all.train.images.subarray(200 * per, 300 * per));
  assert.deepEqual(d.train.images, all.train.images.subarray(0, 200 * per));
  assert.equal(all.validation, null);
});

test("selectBest keeps the evaluation with the lowest validation bits, and the run is read back at it", async () => {
  const dir = join(root, "best");
  await train(input(), dir, { output: "quiet" });
  const lines = readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const val = lines.filter((r) => r.type === "validation");
  assert.deepEqual(
    val.map((r) => r.step),
    [10, 20, 30, 40],
  );
  const lowest = val.reduce((a, b) => (b.last_bpd_given_true < a.last_bpd_given_true ? b : a));
  const best = readBest(dir)!;
  assert.deepEqual(best, { step: lowest.step, value: lowest.last_bpd_given_true });
  const run = await openRun(dir);
  try {
    assert.equal(run.step, best.step);
    assert.equal(run.checkpoint, join(dir, "best"));
  } finally {
    closeRun(run);
  }
});

test("selectBest without a validation split, or a split that takes every image, is refused naming the key", async () => {
  assert.throws(() => resolveRunConfig(input({ validation: 0 })), {
    name: "ArgumentError",
    message: /^train.selectBest needs a validation split: set data.validation/,
  });
  await assert.rejects(loadRunData(resolveRunConfig(input({ validation: 300 }))), {
    name: "ArgumentError",
    message: "data.validation 300 leaves no training images: mnist's train split has 300",
  });
});
