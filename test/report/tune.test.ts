// The tune section of the report: the leaderboard as given, the learned schedule drawn as steps (a parameter
// holds its value through each interval), previews as images; without a schedule, no chart.
import assert from "node:assert/strict";
import { test } from "node:test";
import { renderReport } from "../../src/report/html.js";
import { type TuneReportData, tuneReport } from "../../src/report/tune.js";

// A 1×1 PNG: the signature and an IHDR chunk are what the report reads.
const png = Uint8Array.from(
  Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=",
    "base64",
  ),
);

const data: TuneReportData = {
  title: "Tune: vqvae on mnist",
  summary: ["what won"],
  leaderboard: { columns: ["#", "candidate", "bpd"], rows: [[1, "basic-<57>", 1.87]], caption: "best first" },
  previews: [{ name: "basic-57", caption: "direct: noise 0.15", png }],
  schedule: {
    member: "pbt-2",
    steps: [50, 100, 150],
    parameters: { "noise strength": [0.2, 0.25, null], "blur probability": [0.5, 0.4, 0.3] },
  },
};

test("tuneReport: the leaderboard, the schedule as a step function over updates, the previews", () => {
  const r = tuneReport(data);
  assert.deepEqual(r.tables, [{ title: "Leaderboard", ...data.leaderboard }]);
  const chart = r.charts![0]!;
  assert.ok("chart" in chart);
  assert.match(chart.title!, /pbt-2/);
  const noise = chart.chart.series.find((s) => s.name === "noise strength")!;
  assert.deepEqual(noise.x, [0, 50, 50, 100, 100, 150]);
  assert.deepEqual(noise.y, [0.2, 0.2, 0.25, 0.25, null, null]);
  assert.equal(chart.chart.series.length, 2);
  assert.deepEqual(
    r.galleries![0]!.images.map((i) => i.caption),
    ["basic-57: direct: noise 0.15"],
  );
  const html = renderReport(r);
  assert.match(html, /basic-&lt;57&gt;/);
  assert.match(html, /<svg/);
  assert.equal(html.match(/data:image\/png/g)?.length, 1);
});

test("tuneReport without a schedule or previews draws no chart and no gallery", () => {
  const r = tuneReport({ ...data, schedule: undefined, previews: [] });
  assert.deepEqual(r.charts, []);
  assert.deepEqual(r.galleries, []);
  assert.doesNotMatch(renderReport(r), /<svg/);
});
