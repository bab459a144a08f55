// Reading a run back (src/run/run.ts): a broken checkpoint state is refused in one line naming it, and a
// run that is still training, deleting older checkpoints as it writes newer ones, can be opened at any moment.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/main.js";
import { setNumThreads } from "../../src/tensor/index.js";
import type { RunInput } from "../../src/train/config.js";
import { train } from "../../src/train/loop.js";
import { closeRun, openRun } from "../../src/run/run.js";

setNumThreads(1);
const root = mkdtempSync(join(tmpdir(), "lastframe-run-"));
after(() => rmSync(root, { recursive: true, force: true }));
const bin = fileURLToPath(new URL("../../../bin/lastframe.js", import.meta.url));

const tiny = (steps: number, checkpointEvery = steps): RunInput => ({
  model: "hvae",
  preset: "tiny",
  data: { name: "mnist", limit: 200 },
  train: { steps, batch: 4, seed: 3 },
  log: { evalEvery: steps, evalImages: 8, sampleEvery: steps, sampleN: 2, checkpointEvery },
});

const good = join(root, "good");
before(async () => {
  await train(tiny(4), good, { output: "quiet" });
});

/** Runs the CLI in-process; returns the exit code and what it printed on stderr. */
async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  const lines: string[] = [];
  const saved = console.error;
  console.error = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    return { code: await main(args), stderr: lines.join("\n") };
  } finally {
    console.error = saved;
  }
}

test("sample on a garbage, empty or missing state.json exits 2 with one line naming the file", async () => {
  const invalid = (state: string) => `${state} is not valid JSON (truncated or edited?)`;
  const cases: [string, string | null, (state: string) => string][] = [
    ["garbage", "garbage\n", invalid],
    ["empty", "", invalid],
    ["missing", null, (state) => `cannot read ${state}: ENOENT`],
  ];
  for (const [name, text, message] of cases) {
    const dir = join(root, name);
    cpSync(good, dir, { recursive: true });
    const state = join(dir, "ckpt-000004", "state.json");
    if (text === null) rmSync(state);
    else writeFileSync(state, text);
    await assert.rejects(openRun(dir), { name: "CheckpointError", message: message(state) });
    const r = await cli("sample", dir, "--n", "2", "--out", join(root, `${name}.png`));
    assert.deepEqual(r, { code: 2, stderr: `lastframe sample: ${message(state)}` }, name);
  }
});

test(
  "a run can be opened while its trainer replaces checkpoints (each step)",
  { timeout: 60_000 },
  async () => {
    const dir = join(root, "live");
    // A checkpoint every step: the trainer deletes the one before as soon as the next is complete.
    const trainer = spawn(
      process.execPath,
      [
        bin,
        "train",
        "--data",
        "mnist",
        "--limit",
        "200",
        "--preset",
        "tiny",
        "--steps",
        "80",
        "--batch",
        "2",
        "--eval-every",
        "80",
        "--eval-images",
        "4",
        "--sample-every",
        "80",
        "--checkpoint-every",
        "1",
        "--quiet",
        "--out",
        dir,
      ],
      { env: { ...process.env, LASTFRAME_THREADS: "1" }, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    trainer.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => trainer.once("exit", resolve));
    let running = true;
    void exited.then(() => (running = false));
    let opened = 0;
    const steps = new Set<number>();
    while (running) {
      // openRun never waits on the event loop, and the trainer's exit is only seen there.
      await new Promise((resolve) => setImmediate(resolve));
      try {
        const run = await openRun(dir);
        steps.add(run.step);
        closeRun(run);
        opened++;
      } catch (err) {
        // Before the trainer's first checkpoint the folder is not a run yet.
        if (!/is not a run folder|has no checkpoint yet/.test((err as Error).message)) {
          trainer.kill("SIGKILL");
          throw err;
        }
      }
    }
    assert.equal(await exited, 0, stderr);
    assert.ok(opened >= 20 && steps.size >= 10, `opened ${opened} times at ${steps.size} different steps`);
  },
);
