// What `lastframe report` gathers from folders: a suite's curves are grouped per suite and coloured by table row
// (its seeds share a colour and one legend entry), run folders outside suites get a chart of their own, and a
// suite's sample grids come in table order; suites come in README's order.
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { findResults, reportData, summarizeRun } from "../../src/experiments/collect.js";
import { PALETTE, lineChart } from "../../src/report/svg.js";
import { resolveRunConfig } from "../../src/train/config.js";

const runResult = (row: string, label: string, seed: number) => ({
  row,
  label,
  model: "hvae",
  spec: "none",
  frames: 1,
  seed,
  steps: 4,
  batch: 2,
  framesSeen: 8,
  trainSeconds: 1,
  imagesPerSecond: 8,
  metrics: { fd: 10 + seed },
});

// The report reads (and checks) each run's config.json: a real one.
const config = JSON.stringify(resolveRunConfig({ model: "hvae", preset: "tiny", data: "mnist" }));

function runFolder(dir: string, losses: number[]) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), config);
  const lines = losses.map((loss, step) => JSON.stringify({ type: "train", step, loss }));
  lines.push(JSON.stringify({ type: "eval", step: losses.length, bpd: 1.5, time: 3 }));
  writeFileSync(join(dir, "metrics.jsonl"), lines.join("\n") + "\n");
}

test("report groups a suite's curves by table row and keeps other runs apart", () => {
  const root = mkdtempSync(join(tmpdir(), "lastframe-collect-"));
  const suite = join(root, "main-x");
  mkdirSync(join(suite, "samples"), { recursive: true });
  const rows = [
    ["hvae-image", "image model (T = 1)"],
    ["hvae-expressive-t4", "video, expressive, T = 4"],
  ] as const;
  writeFileSync(
    join(suite, "results.json"),
    JSON.stringify({
      suite: "main",
      data: "mnist",
      budget: "smoke",
      seeds: [0, 1],
      hardware: "test",
      runs: rows.flatMap(([row, label]) => [runResult(row, label, 0), runResult(row, label, 1)]),
    }),
  );
  // Folder names sort expressive before image; the table order is image first.
  for (const [row] of rows) {
    for (const seed of [0, 1]) runFolder(join(suite, "runs", `${row}-s${seed}`), [3, 2, 1]);
    writeFileSync(join(suite, "samples", `${row}.png`), row);
  }
  // Still training: not in results.json, and caught mid-write (a torn last line).
  const training = join(suite, "runs", "hvae-noise-control-t4-s0");
  runFolder(training, [4, 3]);
  appendFileSync(join(training, "metrics.jsonl"), '{"type":"train","step":3,"lo');
  const solo = join(root, "solo");
  runFolder(solo, [5, 4]);
  appendFileSync(
    join(solo, "metrics.jsonl"),
    JSON.stringify({ type: "eval", step: 3, frame_bpd: [2, 1] }) + "\n",
  );
  const evalJson = { n: 64, refN: 64, fd: 12.5, kid: { mean: 0.01 }, pr: { precision: 0.8, recall: 0.6 } };
  const bpd = { last_bpd_given_true: 1.2, frame_bpd: [1.5, 1.2] };
  writeFileSync(join(solo, "eval.json"), JSON.stringify({ ...evalJson, bpd }));
  // A suite whose folder sorts first but whose table comes after main's (as in README).
  mkdirSync(join(root, "a-probe"));
  writeFileSync(
    join(root, "a-probe", "results.json"),
    JSON.stringify({
      suite: "probe",
      data: "mnist",
      budget: "smoke",
      seeds: [0],
      hardware: "test",
      runs: [],
    }),
  );

  const data = reportData(findResults([root]), root);
  const title = "main on mnist, hvae (smoke budget, seeds 0, 1)";
  assert.deepEqual(
    data.tables!.map((t) => t.title.split(",")[0]),
    ["main on mnist", "probe on mnist", "Runs"],
  );
  // Every run's row, in folder order; the solo run's numbers from its eval.json and last training step.
  const table = data.tables![2]!;
  assert.deepEqual(
    table.rows.map((r) => r[0]),
    [
      ...[
        "hvae-expressive-t4-s0",
        "hvae-expressive-t4-s1",
        "hvae-image-s0",
        "hvae-image-s1",
        "hvae-noise-control-t4-s0",
      ].map((r) => `main-x/runs/${r}`),
      "solo",
    ],
  );
  const row = Object.fromEntries(table.columns.map((c, i) => [c, table.rows[5]![i]]));
  assert.deepEqual(row, {
    run: "solo",
    model: "hvae",
    data: "mnist",
    spec: "none",
    T: 1,
    steps: 1,
    "train s": undefined,
    FD: 12.5,
    KID: 0.01,
    precision: 0.8,
    recall: 0.6,
    bpd: 1.2,
    "bpd per frame": "1.5 · 1.2",
  });
  assert.equal(
    data.summary![6],
    "solo: hvae (tiny), on mnist, none pseudo videos, T = 1, 1 steps; FD 12.5, KID 0.01, precision 0.8, recall 0.6, 1.2 bits/dim (eval.json: 64 generated vs 64 test images).",
  );
  assert.deepEqual(
    data.charts!.map((c) => c.title),
    [
      `Training loss: ${title}`,
      `Test bpd: ${title}`,
      "Training loss",
      "Test bpd",
      "Test frame_bpd per frame",
    ],
  );
  const perFrame = data.charts![4]!;
  assert.ok("chart" in perFrame);
  assert.deepEqual(
    perFrame.chart.series.map((s) => [s.name, s.x, s.y]),
    [
      ["frame 1", [3], [2]],
      ["frame 2", [3], [1]],
    ],
  );
  const loss = data.charts![0]!;
  assert.ok("chart" in loss);
  assert.deepEqual(
    loss.chart.series.map((s) => [s.name, s.color]),
    [
      ["image model (T = 1)", PALETTE[0]],
      ["image model (T = 1)", PALETTE[0]],
      ["video, expressive, T = 4", PALETTE[1]],
      ["video, expressive, T = 4", PALETTE[1]],
      ["hvae-noise-control-t4", PALETTE[2]],
    ],
  );
  assert.deepEqual(loss.chart.series[0]!.y, [3, 2, 1]);
  assert.deepEqual(loss.chart.series[4]!.y, [4, 3]);
  const soloLoss = data.charts![2]!;
  assert.ok("chart" in soloLoss);
  assert.deepEqual(
    soloLoss.chart.series.map((s) => s.name),
    ["solo"],
  );

  // One legend entry per row, one line per run.
  const svg = lineChart(loss.chart);
  const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.equal(texts.filter((t) => t === "image model (T = 1)").length, 1);
  assert.equal(texts.filter((t) => t === "video, expressive, T = 4").length, 1);
  assert.equal((svg.match(/<path class="series"/g) ?? []).length, 5);

  const grids = data.galleries!.find((g) => g.title === `Samples: ${title}`)!;
  assert.deepEqual(
    grids.images.map((i) => i.caption),
    ["hvae-image: image model (T = 1)", "hvae-expressive-t4: video, expressive, T = 4"],
  );
});

test("report names a results.json that is not valid JSON", () => {
  const root = mkdtempSync(join(tmpdir(), "lastframe-collect-"));
  const suite = join(root, "main-x");
  mkdirSync(suite);
  writeFileSync(join(suite, "results.json"), '{"suite": "main", "runs": [');
  assert.throws(() => findResults([root]), {
    name: "DataError",
    message: new RegExp(`^${join(suite, "results.json")} is not valid JSON`),
  });
});

test("report draws results.json's learning curves against updates and against frames processed", () => {
  const root = mkdtempSync(join(tmpdir(), "lastframe-collect-"));
  const suite = join(root, "warmstart-x");
  mkdirSync(suite);
  const withCurve = (row: string, label: string, seed: number, frames: number) => ({
    ...runResult(row, label, seed),
    frames,
    curve: [0, 2, 4].map((step) => ({
      step,
      frames: step * 2 * frames,
      last_bpd_given_true: 3 - step / 10 - seed / 100,
      ...(step > 0 ? { fd: 100 - step } : {}),
    })),
  });
  writeFileSync(
    join(suite, "results.json"),
    JSON.stringify({
      suite: "warmstart",
      data: "mnist",
      budget: "smoke",
      seeds: [0, 1],
      hardware: "test",
      // An older record without a curve is left out of the charts, not drawn empty.
      runs: [
        withCurve("hvae-image", "image model (T = 1)", 0, 1),
        withCurve("hvae-image", "image model (T = 1)", 1, 1),
        withCurve("hvae-warm-expressive-t4", "warm video", 0, 4),
        runResult("hvae-image-continue", "continued", 0),
      ],
    }),
  );
  const data = reportData(findResults([root]), root);
  const title = "warmstart on mnist, hvae (smoke budget, seeds 0, 1)";
  assert.deepEqual(
    data.charts!.map((c) => c.title),
    [
      `Learning curve, test last_bpd_given_true against updates: ${title}`,
      `Learning curve, test last_bpd_given_true against frames processed: ${title}`,
      `Learning curve, test fd against updates: ${title}`,
      `Learning curve, test fd against frames processed: ${title}`,
    ],
  );
  const byFrames = data.charts![1]!;
  assert.ok("chart" in byFrames);
  assert.deepEqual(
    byFrames.chart.series.map((s) => [s.name, s.color, s.x]),
    [
      ["image model (T = 1)", PALETTE[0], [0, 4, 8]],
      ["image model (T = 1)", PALETTE[0], [0, 4, 8]],
      ["warm video", PALETTE[1], [0, 16, 32]],
    ],
  );
  assert.deepEqual(byFrames.chart.series[1]!.y, [3 - 0.01, 3 - 0.2 - 0.01, 3 - 0.4 - 0.01]);
  const fd = data.charts![2]!;
  assert.ok("chart" in fd);
  assert.deepEqual(fd.chart.series[2]!.x, [2, 4]);
});

test("a run's summary comes from its checked config.json and eval.json; a wrong type names the file and key", () => {
  const dir = join(mkdtempSync(join(tmpdir(), "lastframe-collect-")), "run");
  runFolder(dir, [3, 2]);
  const evalPath = join(dir, "eval.json");
  const evalReport = { n: 64, refN: 100, fd: 12.5, kid: { mean: 0.01, std: 0.002 }, timings: {} };
  const bpd = { last_bpd_given_true: 1.25, frame_bpd: [2, 1.25] };
  writeFileSync(evalPath, JSON.stringify({ ...evalReport, pr: { precision: 0.5, recall: 0.25, k: 3 }, bpd }));
  const s = summarizeRun(dir);
  assert.deepEqual(
    [s.model, s.preset, s.data, s.spec, s.frames, s.step, s.eval],
    [
      "hvae",
      "tiny",
      "mnist",
      "none",
      1,
      1,
      { fd: 12.5, kid: 0.01, precision: 0.5, recall: 0.25, bpd: 1.25, frameBpd: [2, 1.25], n: 64, refN: 100 },
    ],
  );
  writeFileSync(evalPath, JSON.stringify({ ...evalReport, fd: "12.5" }));
  assert.throws(() => summarizeRun(dir), {
    name: "DataError",
    message: `${evalPath}: Expected number for fd but received "12.5" (string)`,
  });
  writeFileSync(evalPath, JSON.stringify({ ...evalReport, bpd: { frame_bpd: [2, null] } }));
  assert.throws(() => summarizeRun(dir), {
    name: "DataError",
    message: new RegExp(`^${evalPath}: Expected .* for bpd.frame_bpd`),
  });
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...JSON.parse(config), frames: "1" }));
  assert.throws(() => summarizeRun(dir), {
    name: "CheckpointError",
    message: new RegExp(
      `^${join(dir, "config.json")}: Expected number for frames but received "1" \\(string\\)$`,
    ),
  });
});
