// The memory soak's measuring process (soak.test.ts starts it; not a test file itself): trains a tiny two-stage
// VQ run through train(), samples from it one video at a time, and prints one JSON line with resident memory and
// live tensors at each point. A process of its own, so other tests' tensors and heap do not move the readings.
//
// Usage: node --expose-gc soak-child.js <folder> <steps per stage> <sampling calls>
import { rmSync } from "node:fs";
import { join } from "node:path";
import { liveTensors, releaseHandles, setNumThreads } from "../../src/tensor/index.js";
import type { RunInput } from "../../src/train/config.js";
import { train } from "../../src/train/loop.js";
import { closeRun, openRun, sampleVideos } from "../../src/run/run.js";

setNumThreads(1);
const [root, stepsArg, callsArg] = process.argv.slice(2);
const steps = Number(stepsArg),
  calls = Number(callsArg);

// The cheapest real path through the loop: vqvae tiny has two stages (the VQ-VAE, then the prior), so `steps`
// per stage trains 2·steps in all, with a stage change, a new optimizer and pseudo videos of two frames.
// Evaluations, sample grids and checkpoints come at the ends of the stages only.
const input = (n: number): RunInput => ({
  model: "vqvae",
  preset: "tiny",
  data: { name: "mnist", limit: 64 },
  spec: "expressive",
  frames: 2,
  train: { steps: n, batch: 1, seed: 5 },
  log: { evalEvery: n, evalImages: 4, sampleEvery: n, sampleN: 1, checkpointEvery: n },
});

/** Resident MB once the JS heap is collected and Node has run the finalizers of collected handles. */
async function rss(): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  await releaseHandles();
  return process.memoryUsage().rss / 2 ** 20;
}

/** k sampling calls of one video each on the run in dir; live tensors once it is open and after the calls. */
async function sampleMany(dir: string, k: number): Promise<{ opened: number; sampled: number }> {
  const run = await openRun(dir);
  const opened = liveTensors();
  for (let i = 0; i < k; i++) {
    sampleVideos(run, 1, { seed: i });
    // sampleVideos is synchronous: a caller's loop lets Node release the handles (tensor/scope.ts).
    await releaseHandles();
  }
  const sampled = liveTensors();
  closeRun(run);
  return { opened, sampled };
}

// Warm-up: a shorter run over the same code and shapes, so the heap already holds the working set.
const started = performance.now();
await train(input(500), join(root, "warm-up"), { output: "quiet" });
await sampleMany(join(root, "warm-up"), 50);
rmSync(join(root, "warm-up"), { recursive: true });
const before = { rss: await rss(), live: liveTensors() };

const t0 = performance.now();
const dir = join(root, "soak");
await train(input(steps), dir, { output: "quiet" });
const trainSeconds = (performance.now() - t0) / 1000;
const trained = { rss: await rss(), live: liveTensors() };

const t1 = performance.now();
const { opened, sampled } = await sampleMany(dir, calls);
const sampleSeconds = (performance.now() - t1) / 1000;
const after = { rss: await rss(), live: liveTensors() };

process.stdout.write(
  JSON.stringify({
    steps: 2 * steps,
    calls,
    before,
    trained,
    after,
    opened,
    sampled,
    trainSeconds,
    sampleSeconds,
    seconds: (performance.now() - started) / 1000,
  }) + "\n",
);
