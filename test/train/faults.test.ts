// Fault injection on real trainer processes: `lastframe train` is killed with SIGKILL at random moments, among
// them while a checkpoint is being written and between the files of one checkpoint, then resumed each time; the
// final weights, EMA and optimizer state equal an uninterrupted run's bit for bit (their SHA-256 in state.json).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";

const root = mkdtempSync(join(tmpdir(), "lastframe-faults-"));
after(() => rmSync(root, { recursive: true, force: true }));
const bin = fileURLToPath(new URL("../../../bin/lastframe.js", import.meta.url));
const STEPS = 40;

function trainer(dir: string, resume: boolean): ChildProcess {
  const args = resume
    ? ["--resume"]
    : ["--data", "mnist", "--limit", "200", "--preset", "tiny", "--steps", String(STEPS), "--batch", "4"];
  return spawn(
    process.execPath,
    [
      bin,
      "train",
      ...args,
      "--eval-every",
      "20",
      "--eval-images",
      "8",
      "--checkpoint-every",
      "2",
      "--quiet",
      "--out",
      dir,
    ],
    { env: { ...process.env, LASTFRAME_THREADS: "1" }, stdio: ["ignore", "ignore", "pipe"] },
  );
}

/** A half-written checkpoint folder in `dir` with at least `files` files in it, if there is one. */
function partial(dir: string, files: number): boolean {
  try {
    return readdirSync(dir).some((e) => e.endsWith(".tmp") && readdirSync(join(dir, e)).length >= files);
  } catch {
    return false; // not there yet, or renamed into place while it was listed
  }
}

/**
 * Training steps the run in `dir` has logged (its progress, not the clock: a fixed time into a run means another
 * step on every machine, and a fast one finished all 40 steps before the first kill).
 */
function stepsDone(dir: string): number {
  try {
    return readFileSync(join(dir, "metrics.jsonl"), "utf8").split('"type":"train"').length - 1;
  } catch {
    return 0; // not there yet
  }
}

/** Runs a trainer until `when` says kill (checked as often as the event loop turns); whether it was killed. */
async function runUntil(child: ChildProcess, when: (ms: number) => boolean): Promise<boolean> {
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exit = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let exited = false;
  void exit.then(() => (exited = true));
  const t0 = performance.now();
  while (!exited) {
    if (when(performance.now() - t0)) {
      child.kill("SIGKILL");
      await exit;
      return true;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(await exit, 0, stderr);
  return false;
}

const checksums = (dir: string) => {
  const latest = readdirSync(dir)
    .filter((e) => /^ckpt-\d+$/.test(e))
    .sort()
    .at(-1)!;
  const state = JSON.parse(readFileSync(join(dir, latest, "state.json"), "utf8"));
  return { latest, files: state.files, rng: state.rng, step: state.step };
};

test(
  "kill -9 at random moments, mid-checkpoint included: resuming gives the uninterrupted run's weights",
  { timeout: 120_000 },
  async (t) => {
    const straight = join(root, "straight"),
      broken = join(root, "broken");
    await runUntil(trainer(straight, false), () => false);
    // Seeded moments (ms after start): the same test every time, yet not aligned with the trainer's steps.
    let seed = 27;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const moments: [string, (ms: number) => boolean][] = [
      [
        "at a random step",
        (
          (at) => () =>
            stepsDone(broken) >= at
        )(2 + Math.floor((STEPS / 2 - 4) * random())), // in the first half
      ],
      ["while a checkpoint is written", () => partial(broken, 0)],
      ["between the files of a checkpoint", () => partial(broken, 2)],
      [
        "at a random step",
        (
          (at) => () =>
            stepsDone(broken) >= at
        )(STEPS / 2 + 2 + Math.floor((STEPS / 2 - 4) * random())), // in the second half
      ],
      ["while a checkpoint is written", () => partial(broken, 1)],
    ];
    const killed: string[] = [];
    let finished = false;
    for (const [what, when] of moments) {
      const resume = existsSync(join(broken, "config.json"));
      if (await runUntil(trainer(broken, resume), when))
        killed.push(
          `${what} (${readdirSync(broken)
            .filter((e) => e.startsWith("ckpt-"))
            .join(" ")})`,
        );
      else {
        finished = true;
        break;
      }
    }
    if (!finished) await runUntil(trainer(broken, true), () => false);
    t.diagnostic(`killed ${killed.length} times: ${killed.join("; ")}`);
    assert.ok(killed.length >= 3, `killed ${killed.length} times: ${killed.join(", ")}`);
    assert.ok(!readdirSync(broken).some((e) => e.endsWith(".tmp")));
    assert.deepEqual(checksums(broken), checksums(straight), `after kills ${killed.join(", ")}`);
  },
);
