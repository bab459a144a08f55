// --init-from a trained image run (a warm start): the new run is scored before its first update, and that score is
// the image run's own at T = 1 (same weights, same test draws) and, at T = 4, its last frame's is the image's up to
// the posterior draws; config.json records the checksum of exactly the image run's EMA weights.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { dispose, setNumThreads } from "../../src/tensor/index.js";
import type { RunInput } from "../../src/train/config.js";
import { readInitWeights, weightsChecksum } from "../../src/train/init.js";
import { train } from "../../src/train/loop.js";
import { readMetrics } from "../../src/train/metrics.js";

setNumThreads(1);
const root = mkdtempSync(join(tmpdir(), "lastframe-warm-"));
after(() => rmSync(root, { recursive: true, force: true }));

const input = (extra: RunInput): RunInput => ({
  model: "hvae",
  preset: "tiny",
  data: { name: "mnist", limit: 256 },
  train: { steps: 8, batch: 8, seed: 3 },
  log: { evalEvery: 4, evalImages: 64, sampleEvery: 8, checkpointEvery: 8 },
  ...extra,
});
const evals = (dir: string) => readMetrics(dir).filter((r) => r.type === "eval");

test("--init-from an image run: step 0 scores as the image run ended, and the weights taken are its EMA weights", async () => {
  const image = join(root, "image");
  await train(input({ spec: "none", frames: 1 }), image, { output: "quiet" });
  const ended = evals(image).at(-1)!;
  assert.equal(ended.step, 8);
  const source = readInitWeights({ from: image, modules: [], sha256: "" });
  const sha = weightsChecksum(source);
  dispose(source);

  const again = join(root, "image-continue");
  await train(input({ spec: "none", frames: 1, init: { from: image } }), again, { output: "quiet" });
  const first = evals(again)[0]!;
  assert.equal(first.step, 0);
  assert.equal(first.frames_seen, 0);
  // Same weights, seed and test draws: the same numbers, to the last bit.
  assert.equal(first.bpd, ended.bpd);
  assert.ok(
    (evals(again).at(-1)!.bpd as number) < (first.bpd as number),
    "continued training lowers the bits",
  );
  const cfg = JSON.parse(readFileSync(join(again, "config.json"), "utf8"));
  assert.equal(cfg.init.sha256, sha);

  const warm = join(root, "warm");
  await train(input({ spec: "expressive", frames: 4, init: { from: image } }), warm, { output: "quiet" });
  const w = evals(warm);
  assert.equal(w[0]!.step, 0);
  // The last frame is the clean test image; the context and frame index are zero, so only the posterior noise
  // (drawn for 4 frames per video instead of 1) differs from the image run's score.
  const last = w[0]!.last_bpd_given_true as number;
  assert.ok(Math.abs(last - (ended.bpd as number)) < 0.02 * (ended.bpd as number), `${last} vs ${ended.bpd}`);
  assert.deepEqual(
    w.map((r) => r.frames_seen),
    [0, 4 * 8 * 4, 8 * 8 * 4],
  );
  assert.equal(JSON.parse(readFileSync(join(warm, "config.json"), "utf8")).init.sha256, sha);
});
