// Suite tables: mean ± sample std over seeds, rows in suite order, the reproducing command, controls present.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type RunResult, suiteCommand, suiteMarkdown, suiteTable } from "../../src/experiments/aggregate.js";
import { type Row, suiteRows } from "../../src/experiments/suites.js";

const run = (row: string, seed: number, fd: number, kid: number, bpd?: number): RunResult => ({
  row,
  label: row,
  model: "hvae",
  spec: row,
  frames: 1,
  seed,
  steps: 10,
  batch: 4,
  framesSeen: 40,
  trainSeconds: 60 * (seed + 1),
  imagesPerSecond: 100,
  metrics: { fd, kid, ...(bpd === undefined ? {} : { bpd }) },
});

test("mean ± sample std over seeds, per row, in first-appearance order", () => {
  const res = {
    suite: "main",
    data: "mnist",
    budget: "quick",
    seeds: [0, 1, 2],
    hardware: "test",
    runs: [
      run("b", 0, 1, 0.001, 2),
      run("a", 0, 10, 0.002),
      run("b", 1, 2, 0.002, 3),
      run("b", 2, 3, 0.003, 4),
      run("a", 1, 20, 0.004),
    ],
  };
  const { columns, rows } = suiteTable(res);
  assert.deepEqual(columns, [
    "model",
    "configuration",
    "FD ↓",
    "KID ↓",
    "bits/dim ↓",
    "frames seen",
    "train time",
    "images/s",
    "seeds",
  ]);
  // b: fd 1,2,3 → 2 ± 1; kid 0.001,0.002,0.003 → 0.002 ± 0.001; bpd 2,3,4 → 3.000 ± 1.000; train 1,2,3 min → 2.0 min
  assert.deepEqual(rows[0], [
    "hvae",
    "b",
    "2.00 ± 1.00",
    "0.002 ± 0.001",
    "3.000 ± 1.000",
    "40",
    "2.0 min",
    "100",
    "3",
  ]);
  // a: fd 10,20 → 15 ± 7.07; no bpd for a video row
  assert.equal(rows[1]![2], "15.00 ± 7.07");
  assert.equal(rows[1]![4], "—");
  const md = suiteMarkdown(res, "results/x");
  assert.match(
    md,
    /^### main on mnist, hvae \(quick budget, seeds 0, 1, 2\)\n\n\| model \| configuration \|/,
  );
  // 5 runs of 1, 1, 2, 3, 2 minutes
  assert.match(
    md,
    /Made by `npx lastframe experiment main --data mnist --preset quick --seeds 3 --models hvae --out results\/x` on test: 5 of 6 runs \(re-running the command finishes the rest\), 9 min of/,
  ); // A suite that records its plan counts the rows it has not reached yet.
  assert.match(suiteMarkdown({ ...res, planned: 15 }, "results/x"), /on test: 5 of 15 runs \(re-running/);
  assert.match(suiteMarkdown({ ...res, planned: 5 }, "results/x"), /on test: 5 runs, 9 min of/);
  assert.doesNotMatch(md, /--reuse|taken from there/);

  // Runs another suite trained: the command that reproduces the table takes them from there too, and says so.
  const reused = {
    ...res,
    runs: res.runs.map((r) => (r.row === "a" ? { ...r, reusedFrom: "results/main-x" } : r)),
  };
  const rmd = suiteMarkdown(reused, "results/y");
  assert.match(rmd, /--models hvae --reuse results\/main-x --out results\/y`/);
  assert.match(
    rmd,
    /\n2 of these runs were trained for results\/main-x \(same row, seed and budget\) and are taken from there, not trained again; their training time is in the total above\.\n/,
  );
  assert.deepEqual(suiteTable(reused), suiteTable(res), "the numbers do not change");

  // A suite resumed on another machine names each machine with its number of runs; older records count as the file's.
  const mixed = { ...res, runs: res.runs.map((r, i) => (i < 2 ? { ...r, hardware: "2 × other" } : r)) };
  assert.match(suiteMarkdown(mixed, "results/x"), /` on 2 × other \(2 runs\), test \(3 runs\): 5 of 6 runs/);
  const moved = { ...res, runs: res.runs.map((r) => ({ ...r, hardware: "2 × other" })) };
  assert.match(suiteMarkdown(moved, "results/x"), /` on 2 × other: 5 of 6 runs/);
});

test("suites hold the paper's comparison and the controls", () => {
  assert.deepEqual(
    suiteRows("main", ["hvae"]).map((r) => r.key),
    ["hvae-image", "hvae-noise-chain-t4", "hvae-blur-chain-t4", "hvae-independent-t4", "hvae-expressive-t4"],
  );
  // compare: the VQ rows share a tokenizer; the controls set what they need and nothing else.
  const compare = suiteRows("compare", ["vqvae", "hvae"]);
  assert.deepEqual(
    compare.map((r) => r.key),
    [
      "vqvae-image",
      "vqvae-image-compute",
      "vqvae-independent-t4",
      "vqvae-expressive-t4",
      "vqvae-blur-chain-t4",
      "vqvae-noise-control-t4",
      "vqvae-shuffle-control-t4",
      "vqvae-distribution-augmentation-t4",
      "hvae-image",
      "hvae-image-compute",
      "hvae-independent-t4",
      "hvae-expressive-t4",
      "hvae-noise-control-t4",
      "hvae-distribution-augmentation-t4",
    ],
  );
  assert.ok(compare.every((r) => Boolean(r.sharedTokenizer) === (r.model === "vqvae")));
  const row = (key: string) => compare.find((r) => r.key === key)!;
  assert.deepEqual([row("hvae-image-compute").stepsFactor, row("hvae-image-compute").frames], [4, 1]);
  assert.deepEqual(row("vqvae-distribution-augmentation-t4").hps, { attention: "none", lastFrameWeight: 0 });
  assert.deepEqual(row("hvae-distribution-augmentation-t4").hps, { context: "none", lastFrameWeight: 0 });
  // --tokenizer per-row: the same rows, each VQ row with a stage 1 of its own.
  const perRow = suiteRows("compare", ["vqvae"], undefined, "per-row");
  assert.deepEqual(
    perRow.map((r) => r.key),
    compare.filter((r) => r.model === "vqvae").map((r) => r.key),
  );
  assert.ok(perRow.every((r) => !r.sharedTokenizer));
  // warmstart: both later rows start from the image row; image-continue has the warm row's frames processed.
  const warm = suiteRows("warmstart", ["hvae"]);
  assert.deepEqual(
    warm.map((r) => `${r.key} ${r.frames} ${r.stepsFactor ?? 1} ${r.warmFrom ?? "-"}`),
    ["hvae-image 1 1 -", "hvae-image-continue 1 4 hvae-image", "hvae-warm-expressive-t4 4 1 hvae-image"],
  );
  assert.deepEqual(
    suiteRows("exposure", ["hvae"]).map((r) => `${r.key} ${JSON.stringify(r.hps ?? {})}`),
    ["hvae-expressive-t4 {}", 'hvae-expressive-ctxnoise-t4 {"contextNoise":0.1}'],
  );
  assert.throws(() => suiteRows("exposure", ["vqvae"]), /trains the hvae family only/);
  const controls = suiteRows("controls", ["vqvae"]);
  assert.ok(controls.some((r) => r.framesAsImages && r.frames === 4));
  assert.ok(controls.some((r) => r.spec === "noise-control"));
  assert.deepEqual(
    suiteRows("frames", ["hvae"]).map((r) => r.key),
    ["hvae-image", "hvae-expressive-t2", "hvae-expressive-t4", "hvae-expressive-t8"],
  );
  // frames sweeps T for the spec chosen per family; its command names a spec other than the default.
  const swept = suiteRows("frames", ["hvae", "vqvae"], (m) => (m === "hvae" ? "independent" : "blur-chain"));
  assert.deepEqual(
    swept.map((r) => `${r.key} ${r.spec} ${r.frames}`),
    [
      "hvae-image none 1",
      "hvae-independent-t2 independent 2",
      "hvae-independent-t4 independent 4",
      "hvae-independent-t8 independent 8",
      "vqvae-image none 1",
      "vqvae-blur-chain-t2 blur-chain 2",
      "vqvae-blur-chain-t4 blur-chain 4",
      "vqvae-blur-chain-t8 blur-chain 8",
    ],
  );
  const framesRun = (r: Row, model = "hvae"): RunResult => ({
    ...run(r.key, 0, 1, 1),
    model,
    spec: r.spec,
    frames: r.frames,
  });
  const framesRes = (runs: RunResult[]) => ({
    suite: "frames",
    data: "mnist",
    budget: "quick",
    seeds: [0],
    hardware: "test",
    runs,
  });
  assert.match(
    suiteCommand(framesRes(swept.slice(0, 4).map((r) => framesRun(r))), "x"),
    /--models hvae --spec independent --out x$/,
  );
  assert.match(
    suiteCommand(framesRes(swept.map((r) => framesRun(r, r.model))), "x"),
    /--models hvae,vqvae --spec best --out x$/,
  );
  assert.match(
    suiteCommand(framesRes(suiteRows("frames", ["hvae"]).map((r) => framesRun(r))), "x"),
    /--models hvae --out x$/,
  );
  assert.throws(() => suiteRows("nope", ["hvae"]), {
    message:
      'Unknown suite "nope". Valid suites: main, frames, controls, probe, compare, warmstart, exposure',
  });
});
