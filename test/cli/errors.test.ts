// User mistakes through the real command (a child process): each exits 2 and prints one line naming the flag or
// file, the key and the value, with no stack trace; only bugs show a stack. None of these trains anything.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { resolveRunConfig } from "../../src/train/config.js";

const root = mkdtempSync(join(tmpdir(), "lastframe-errors-"));
after(() => rmSync(root, { recursive: true, force: true }));
const bin = fileURLToPath(new URL("../../../bin/lastframe.js", import.meta.url));

function lastframe(...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    env: { ...process.env, LASTFRAME_THREADS: "1" },
  });
  return { status: r.status, stderr: r.stderr };
}

/** Asserts the one-line refusal (exactly, or matching a pattern). */
function refuses(args: string[], line: string | RegExp): void {
  const { status, stderr } = lastframe(...args);
  assert.doesNotMatch(stderr, /\n\s+at /, `a stack trace for ${args.join(" ")}`);
  assert.equal(status, 2, stderr);
  assert.equal(stderr.split("\n").length, 2, `one line: ${stderr}`);
  if (typeof line === "string") assert.equal(stderr, `${line}\n`);
  else assert.match(stderr, line);
}

/** A run folder holding only config.json (and the checkpoint state given): enough for what is checked first. */
function fakeRun(name: string, config: object, state?: object): string {
  const dir = join(root, name);
  mkdirSync(join(dir, "ckpt-000004"), { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  if (state) writeFileSync(join(dir, "ckpt-000004", "state.json"), JSON.stringify(state));
  return dir;
}

const cfg = resolveRunConfig({ model: "hvae", preset: "tiny", data: "mnist", train: { steps: 4 } });
const saved = { ...cfg, data: { ...cfg.data, channels: 1, size: 28, pad: 2 } };

test("a --config file with a value out of range: exit 2, one line naming the file, key and value", () => {
  const file = join(root, "bad.json");
  writeFileSync(file, JSON.stringify({ train: { lr: -1 } }));
  refuses(
    ["train", "--data", "mnist", "--out", join(root, "never"), "--config", file],
    `lastframe train: config file ${file}: Expected a positive number for train.lr but received -1 (number)`,
  );
});

test("a tampered config.json of a run: sample exits 2 naming the file, key and value", () => {
  const dir = fakeRun("tampered-config", { ...saved, train: { ...saved.train, batch: 0 } });
  refuses(
    ["sample", dir, "--n", "2", "--out", join(root, "a.png")],
    `lastframe sample: ${join(dir, "config.json")}: Expected positive integer for train.batch but received 0 (number)`,
  );
  const unknown = fakeRun("unknown-key", { ...saved, log: { ...saved.log, evry: 3 } });
  refuses(
    ["eval", unknown, "--data", "mnist", "--metrics", "bpd", "--n", "8"],
    `lastframe eval: ${join(unknown, "config.json")}: Unknown setting log.evry. Valid: evalEvery, evalImages, sampleEvery, sampleN, temperature, checkpointEvery`,
  );
});

test("a tampered state.json: sample exits 2 naming the file, key and value", () => {
  const state = {
    step: 4,
    stage: "train",
    stageStep: 4,
    skipped: 0,
    badInARow: 0,
    loader: { epoch: 0, batch: -4 },
    optimizer: { step: 4, lr: 0.001 },
    rng: "AAAA",
    seconds: 1,
    files: {},
  };
  const dir = fakeRun("tampered-state", saved, state);
  refuses(
    ["sample", dir, "--n", "2", "--out", join(root, "b.png")],
    `lastframe sample: ${join(dir, "ckpt-000004", "state.json")}: Expected non-negative integer for loader.batch but received -4 (number)`,
  );
});

test("flags: an unknown one and a wrong type are one line naming the flag", () => {
  refuses(
    ["sample", "--tempreature", "1"],
    /^lastframe sample: Unknown flag --tempreature for 'lastframe sample'\. Valid flags: .*--temperature/,
  );
  refuses(
    ["train", "--data", "mnist", "--out", join(root, "never"), "--batch", "0"],
    "lastframe train: Expected positive integer for train.batch but received 0 (number)",
  );
});
