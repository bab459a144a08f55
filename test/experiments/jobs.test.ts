// `experiment --jobs`: what happens to the child processes and to the table when things go wrong part-way.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { processState } from "../../src/util/process.js";

const bin = fileURLToPath(new URL("../../../bin/lastframe.js", import.meta.url));
const suite = (out: string, seeds: number) => [
  bin,
  ..."experiment main --preset smoke --models hvae --quiet --jobs 2".split(" "),
  ...["--seeds", String(seeds), "--out", out],
];
const env = { ...process.env, LASTFRAME_THREADS: "2" };

const exited = (pid: number) => ["gone", "Z"].includes(processState(pid)!);

test("killing the parent of `experiment --jobs` stops its children", { timeout: 300_000 }, async () => {
  const out = join(mkdtempSync(join(tmpdir(), "lastframe-jobs-")), "main");
  const parent = spawn(process.execPath, suite(out, 1), { env, stdio: "ignore" });
  const parentExit = new Promise((resolve) => parent.on("exit", (code, signal) => resolve(signal ?? code)));

  // The first child to lock its run folder: stop it there, so that it cannot finish before its parent is killed.
  let run: string | undefined;
  let pid = 0;
  for (let i = 0; i < 2400 && !run; i++) {
    await sleep(25);
    for (const name of existsSync(join(out, "runs")) ? readdirSync(join(out, "runs")) : []) {
      const lock = join(out, "runs", name, "lock");
      const text = existsSync(lock) ? readFileSync(lock, "utf8") : "";
      if (!text) continue;
      pid = Number(text.split(" ")[0]);
      run = name;
      process.kill(pid, "SIGSTOP");
      break;
    }
  }
  assert.ok(run, "no child locked a run folder within a minute");
  // A multi-threaded process stops a moment after SIGSTOP: a signal sent before then may be taken on the way.
  for (let i = 0; i < 400 && processState(pid) !== "T"; i++) await sleep(5);
  parent.kill("SIGTERM");
  assert.equal(await parentExit, "SIGTERM");
  // The parent sent the stopped child SIGTERM before it died: the signal waits there until the child continues.
  // (Not waiting for the child to die instead: an orphan also dies, later, when it next writes to its closed stderr.)
  const pending = /^ShdPnd:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  process.kill(pid, "SIGCONT");
  assert.ok(pending && (BigInt(`0x${pending}`) >> 14n) & 1n, `child ${pid} (${run}) was not told to stop`);
  for (let i = 0; i < 1200 && !exited(pid); i++) await sleep(50);
  assert.ok(exited(pid), `child ${pid} (${run}) still runs after its parent was killed`);
});

test("a failed run under --jobs keeps every other run in the table", { timeout: 600_000 }, () => {
  const out = join(mkdtempSync(join(tmpdir(), "lastframe-jobs-")), "main");
  // Seed 0 is recorded in results.json by an earlier invocation, whose run folders this machine no longer has,
  // except hvae-image-s0's, which results.json does not record (as when `--only` trained it elsewhere).
  const first = spawnSync(process.execPath, suite(out, 1), { env, encoding: "utf8" });
  assert.equal(first.status, 0, first.stderr);
  for (const name of readdirSync(join(out, "runs")))
    if (name !== "hvae-image-s0") rmSync(join(out, "runs", name), { recursive: true });
  const recorded = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
  recorded.runs = recorded.runs.filter((r: { row: string }) => r.row !== "hvae-image");
  writeFileSync(join(out, "results.json"), JSON.stringify(recorded));
  // Seed 1's image run cannot resume: its folder's config.json is broken.
  mkdirSync(join(out, "runs", "hvae-image-s1"), { recursive: true });
  writeFileSync(join(out, "runs", "hvae-image-s1", "config.json"), "{");

  const second = spawnSync(process.execPath, suite(out, 2), { env, encoding: "utf8" });
  assert.notEqual(second.status, 0);
  assert.match(second.stderr, /hvae-image-s1/);
  assert.doesNotMatch(second.stderr, /\n\s+at /, "a stack trace");
  // Written as each child finished: seed 0's five runs (four recorded, one read from its folder) and the four
  // of seed 1 that trained.
  const runs = JSON.parse(readFileSync(join(out, "results.json"), "utf8")).runs as {
    row: string;
    seed: number;
  }[];
  assert.deepEqual(runs.map((r) => `${r.row}-s${r.seed}`).sort(), [
    "hvae-blur-chain-t4-s0",
    "hvae-blur-chain-t4-s1",
    "hvae-expressive-t4-s0",
    "hvae-expressive-t4-s1",
    "hvae-image-s0",
    "hvae-independent-t4-s0",
    "hvae-independent-t4-s1",
    "hvae-noise-chain-t4-s0",
    "hvae-noise-chain-t4-s1",
  ]);
  assert.match(readFileSync(join(out, "results.md"), "utf8"), /9 of 10 runs/);
});
