// Data-parallel training (src/train/ddp.ts) with 2 real ranks on loopback: they reproduce one process training
// the same global batch (same data, same pseudo-video and latent noise per example), keep identical weights at
// every step, and a resumed 2-rank run equals the uninterrupted one.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, test } from "node:test";
import { setNumThreads } from "../../src/tensor/index.js";
import { readCheckpoint } from "../../src/train/checkpoint.js";
import type { RunInput } from "../../src/train/config.js";
import { train } from "../../src/train/loop.js";

setNumThreads(1);
const root = mkdtempSync(join(tmpdir(), "lastframe-ddp-"));
after(() => rmSync(root, { recursive: true, force: true }));
const child = fileURLToPath(new URL("./ddp-rank.js", import.meta.url));

// T = 2 with context noise: the pseudo videos and both of the HVAE's noise draws (posterior, context) are sharded.
const input: RunInput = {
  model: "hvae",
  preset: "tiny",
  frames: 2,
  spec: "blur-chain",
  hps: { contextNoise: 0.1 },
  data: { name: "mnist", limit: 200 },
  train: { steps: 20, batch: 8, seed: 5 },
  log: { evalEvery: 20, evalImages: 8, sampleEvery: 20, sampleN: 2, checkpointEvery: 10 },
};

/** Trains `input` into dir as 2 ranks (rank 0 writes it); each rank's parameter checksums, by rank. */
async function twoRanks(dir: string, opts: object = {}, fault?: object): Promise<number[][]> {
  const args = [input, dir, opts, ...(fault ? [fault] : [])].map((a) => JSON.stringify(a));
  const port = 30000 + Math.floor(Math.random() * 5000);
  const outs = await Promise.all(
    [0, 1].map(
      (rank) =>
        new Promise<string>((res, rej) => {
          const p = spawn(process.execPath, [child, ...args], {
            env: {
              ...process.env,
              WORLD_SIZE: "2",
              RANK: String(rank),
              MASTER_ADDR: "127.0.0.1",
              MASTER_PORT: String(port),
            },
          });
          let out = "",
            err = "";
          p.stdout.on("data", (d) => (out += d));
          p.stderr.on("data", (d) => (err += d));
          p.on("exit", (code) =>
            code === 0 ? res(out) : rej(new Error(`rank ${rank} exit ${code}: ${err}`)),
          );
        }),
    ),
  );
  return outs.map((o) => (JSON.parse(o) as { checksums: number[] }).checksums);
}

const losses = (dir: string) =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string; loss: number; step: number })
    .filter((r) => r.type === "train");

function maxAbsDiff(a: string, b: string): number {
  const wa = readCheckpoint(a).tensors.model;
  const wb = readCheckpoint(b).tensors.model;
  assert.deepEqual([...wa.keys()].sort(), [...wb.keys()].sort());
  let worst = 0;
  for (const [k, t] of wa) {
    const x = t.data() as Float32Array,
      y = wb.get(k)!.data() as Float32Array;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
  }
  return worst;
}

test("2 ranks with 4 rows each reproduce one process with batch 8; their weights agree at every step", async () => {
  const one = join(root, "one");
  await train(input, one, { output: "quiet" });
  const two = join(root, "two");
  const [r0, r1] = await twoRanks(two);
  assert.equal(r0!.length, 20);
  assert.deepEqual(r0, r1, "parameter checksums differ between the ranks");
  const a = losses(one),
    b = losses(two);
  assert.equal(b.length, 20);
  for (let i = 0; i < a.length; i++) {
    const rel = Math.abs(a[i]!.loss - b[i]!.loss) / Math.abs(a[i]!.loss);
    assert.ok(rel < 1e-5, `step ${i + 1}: loss ${a[i]!.loss} vs ${b[i]!.loss} (rel ${rel})`);
  }
  const worst = maxAbsDiff(join(one, "ckpt-000020"), join(two, "ckpt-000020"));
  assert.ok(worst < 1e-4, `weights after 20 steps differ by ${worst}`);
});

test("a 2-rank run stopped at step 10 and resumed equals the uninterrupted 2-rank run", async () => {
  const dir = join(root, "resumed");
  await twoRanks(dir, { stopAt: 10 });
  await twoRanks(dir, { resume: true });
  assert.deepEqual(
    losses(dir).map((r) => r.loss),
    losses(join(root, "two")).map((r) => r.loss),
  );
  assert.equal(maxAbsDiff(join(dir, "ckpt-000020"), join(root, "two", "ckpt-000020")), 0);
});

test("a non-finite loss on rank 1 alone: both ranks skip that step (the reduced loss is NaN) and stay equal", async () => {
  const dir = join(root, "fault");
  const [r0, r1] = await twoRanks(dir, { stopAt: 6 }, { rank: 1, step: 3 });
  assert.deepEqual(r0, r1);
  assert.equal(r0!.length, 6);
  const recs = readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string; step: number; loss: number | null; skipped: number })
    .filter((r) => r.type === "train");
  assert.deepEqual(
    recs.map((r) => r.skipped),
    [0, 0, 1, 1, 1, 1],
  );
  assert.equal(recs[2]!.loss, null); // NaN in JSON
  // The skipped step left the weights alone: the checksum before step 4 equals the one before step 3.
  assert.equal(r0![3], r0![2]);
});
