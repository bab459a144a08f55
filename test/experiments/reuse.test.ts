// Which recorded runs another suite may take (--reuse), and which numbers a taken run must carry.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { neededMetrics } from "../../src/experiments/runner.js";
import { readSuiteResults, reusableRuns } from "../../src/experiments/reuse.js";
import { budgets, suiteRows } from "../../src/experiments/suites.js";
import type { RunResult, SuiteResults } from "../../src/experiments/aggregate.js";

test("neededMetrics: bits/dim only for image models of a family that reports it; the probe suite adds probe", () => {
  const all = ["fd", "kid", "pr", "bpd"] as const;
  const base = ["fd", "kid", "precision", "recall"];
  assert.deepEqual(neededMetrics([...all], { model: "hvae", frames: 1 }, "main"), [...base, "bpd"]);
  assert.deepEqual(neededMetrics([...all], { model: "hvae", frames: 4 }, "main"), base);
  // A VQ prior's likelihood is of codes, not pixels: its image rows never record bits/dim.
  assert.deepEqual(neededMetrics([...all], { model: "vqvae", frames: 1 }, "probe"), [...base, "probe"]);
  assert.deepEqual(neededMetrics(["fd"], { model: "vqvae", frames: 4 }, "controls"), ["fd"]);
});

test("reusableRuns: same row, seed, steps, batch and config; the first suite wins; a reused record points at its trainer", () => {
  const budget = budgets.standard;
  const rows = suiteRows("probe", ["vqvae"]);
  const planned = [0, 1].flatMap((seed) =>
    rows.map((row) => ({ row, seed, name: `${row.key}-s${seed}`, config: `${row.key}/${seed}` })),
  );
  const record = (row: string, seed: number, extra: Partial<RunResult> = {}): RunResult =>
    ({
      row,
      label: row,
      model: "vqvae",
      spec: row.includes("expressive") ? "expressive" : row.includes("noise-chain") ? "noise-chain" : "none",
      frames: row === "vqvae-image" ? 1 : 4,
      seed,
      steps: budget.steps,
      batch: budget.batch,
      framesSeen: 0,
      trainSeconds: 1,
      imagesPerSecond: 1,
      metrics: { fd: seed },
      ...extra,
    }) as RunResult;
  const suite = (dir: string, runs: RunResult[]) => ({ dir, results: { runs } as SuiteResults });
  const found = reusableRuns(
    [
      suite("a", [
        record("vqvae-image", 0),
        record("vqvae-image", 1, { steps: budget.steps - 1 }), // another budget: not the same run
        record("vqvae-expressive-t4", 0, { reusedFrom: "origin", config: "vqvae-expressive-t4/0" }),
        record("vqvae-noise-chain-t4", 0, { config: "trained under an older preset" }),
        record("vqvae-blur-chain-t4", 0), // not planned by the probe suite
      ]),
      suite("b", [record("vqvae-image", 0, { metrics: { fd: 99 } }), record("vqvae-noise-chain-t4", 1)]),
    ],
    budget,
    planned,
  );
  assert.deepEqual([...found.keys()].sort(), [
    "vqvae-expressive-t4-s0",
    "vqvae-image-s0",
    "vqvae-noise-chain-t4-s1",
  ]);
  assert.equal(found.get("vqvae-image-s0")!.from, "a");
  assert.equal(found.get("vqvae-image-s0")!.result.metrics.fd, 0);
  assert.equal(found.get("vqvae-expressive-t4-s0")!.from, "origin");
  assert.equal(found.get("vqvae-noise-chain-t4-s1")!.from, "b");
});

test("readSuiteResults: runs recorded without their machine get the file's; bad JSON names the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "lf-results-"));
  const path = join(dir, "results.json");
  const old = { row: "hvae-image", seed: 0 };
  writeFileSync(
    path,
    JSON.stringify({ suite: "main", hardware: "2 × A", runs: [old, { ...old, seed: 1, hardware: "2 × B" }] }),
  );
  assert.deepEqual(
    readSuiteResults(path).runs.map((r) => r.hardware),
    ["2 × A", "2 × B"],
  );
  writeFileSync(path, "{");
  assert.throws(
    () => readSuiteResults(path),
    (e: Error) =>
      e.name === "DataError" &&
      e.message.startsWith(`${path} is not valid JSON (`) &&
      e.message.endsWith("; move it away to start afresh"),
  );
});
