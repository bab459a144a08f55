// Checkpoints under write faults (src/train/checkpoint.ts, src/util/atomic.ts): short writes still give whole
// files, and running out of room (an injected ENOSPC, a real `ulimit -f`) stops training with one line naming the
// file, keeps the last complete checkpoint and leaves no half-written one.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs, { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { dispose, setNumThreads } from "../../src/tensor/index.js";
import { readCheckpoint, readState } from "../../src/train/checkpoint.js";
import type { RunInput } from "../../src/train/config.js";
import { train } from "../../src/train/loop.js";

setNumThreads(1);
const root = mkdtempSync(join(tmpdir(), "lastframe-ckpt-"));
after(() => rmSync(root, { recursive: true, force: true }));
const bin = fileURLToPath(new URL("../../../bin/lastframe.js", import.meta.url));

const tiny = (steps: number, checkpointEvery: number): RunInput => ({
  model: "hvae",
  preset: "tiny",
  data: { name: "mnist", limit: 200 },
  train: { steps, batch: 4, seed: 3 },
  log: { evalEvery: steps, evalImages: 8, sampleEvery: steps, sampleN: 2, checkpointEvery },
});

/**
 * Runs fn with fs.writeSync replaced (every module's `import { writeSync }` sees it); the replacement gets the path
 * each descriptor was opened with.
 */
async function withWrites<T>(
  write: (path: string, fd: number, bytes: Uint8Array, offset: number) => number,
  fn: () => Promise<T>,
): Promise<T> {
  const { openSync, writeSync } = fs;
  const paths = new Map<number, string>();
  fs.openSync = ((path: fs.PathLike, flags: fs.OpenMode, mode?: fs.Mode | null) => {
    const fd = openSync(path, flags, mode);
    paths.set(fd, String(path));
    return fd;
  }) as typeof fs.openSync;
  fs.writeSync = ((fd: number, bytes: Uint8Array, offset?: number | null) =>
    write(paths.get(fd) ?? "", fd, bytes, offset ?? 0)) as typeof fs.writeSync;
  syncBuiltinESMExports();
  try {
    return await fn();
  } finally {
    Object.assign(fs, { openSync, writeSync });
    syncBuiltinESMExports();
  }
}

const realWrite = fs.writeSync;
const entries = (dir: string) => readdirSync(dir).filter((e) => e.startsWith("ckpt"));

function assertComplete(folder: string): void {
  const { tensors } = readCheckpoint(folder);
  for (const part of Object.values(tensors)) dispose(part);
}

test("writes that take at most 4 KiB at a time still give whole checkpoint files", async () => {
  const dir = join(root, "short");
  await withWrites(
    (_, fd, bytes, offset) => realWrite(fd, bytes, offset, Math.min(4096, bytes.length - offset)),
    () => train(tiny(2, 2), dir, { output: "quiet" }),
  );
  assertComplete(join(dir, "ckpt-000002"));
});

test("no space left while a checkpoint is written: one StorageError naming the file; the last complete one stays", async () => {
  const dir = join(root, "full");
  const full = join(dir, "ckpt-000004.tmp", "ema.safetensors");
  await withWrites(
    (path, fd, bytes, offset) => {
      if (path !== full) return realWrite(fd, bytes, offset);
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    },
    () =>
      assert.rejects(train(tiny(6, 2), dir, { output: "quiet" }), {
        name: "StorageError",
        message: `Cannot write ${full}: no space left on the device (ENOSPC)`,
      }),
  );
  assert.deepEqual(entries(dir), ["ckpt-000002"]);
  assertComplete(join(dir, "ckpt-000002"));
  // Room again: the run resumes from it.
  assert.equal((await train({}, dir, { output: "quiet", resume: true })).step, 6);
});

test("lastframe train under ulimit -f: one line naming the file, exit 1, no partial checkpoint", () => {
  const dir = join(root, "ulimit");
  // 200 KiB: config, metrics and the model's weights fit, the optimizer's state (about 290 KB) does not.
  const r = spawnSync(
    "bash",
    [
      "-c",
      `ulimit -f 200 && exec "${process.execPath}" "${bin}" train --data mnist --limit 200 --preset tiny ` +
        `--steps 2 --batch 4 --eval-images 8 --checkpoint-every 2 --quiet --out "${dir}"`,
    ],
    { encoding: "utf8", env: { ...process.env, LASTFRAME_THREADS: "1" } },
  );
  const optim = join(dir, "ckpt-000002.tmp", "optim.safetensors");
  assert.deepEqual(
    { status: r.status, stderr: r.stderr },
    {
      status: 1,
      stderr: `lastframe train: Cannot write ${optim}: the file would exceed the size limit (ulimit -f) (EFBIG)\n`,
    },
  );
  assert.deepEqual(entries(dir), []);
});

test("state.json is checked field by field: a CheckpointError names the file, key and value", () => {
  const path = join(root, "state.json");
  const state = {
    step: 4,
    stage: "train",
    stageStep: 4,
    skipped: 0,
    badInARow: 0,
    loader: { epoch: 1, batch: 2 },
    optimizer: { step: 4, lr: 0.001 },
    rng: "AAAA",
    seconds: 1.5,
    files: { "model.safetensors": "0".repeat(64) },
  };
  writeFileSync(path, JSON.stringify(state));
  assert.deepEqual(readState(path), state);
  const cases: [object, string][] = [
    [{ step: -4 }, "Expected non-negative integer for step but received -4 (number)"],
    [
      { loader: { epoch: 1.5, batch: 2 } },
      "Expected non-negative integer for loader.epoch but received 1.5 (number)",
    ],
    [{ optimizer: { step: 4 } }, "Missing optimizer.lr (number)"],
    [{ rng: "not base64!" }, 'Expected a base64 string for rng but received "not base64!" (string)'],
    [
      { files: { "model.safetensors": "abc" } },
      'Expected a SHA-256 in hex for files.model.safetensors but received "abc" (string)',
    ],
    [
      { extra: 1 },
      'Unknown key "extra" in ' +
        path +
        ". Valid keys: step, stage, stageStep, skipped, badInARow, loader, optimizer, rng, seconds, files",
    ],
  ];
  for (const [change, message] of cases) {
    writeFileSync(path, JSON.stringify({ ...state, ...change }));
    assert.throws(() => readState(path), {
      name: "CheckpointError",
      message: message.startsWith("Unknown") ? message : `${path}: ${message}`,
    });
  }
});
