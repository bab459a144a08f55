// CSV time series: parsing (quotes, timestamps, chosen columns, gaps), windows with a stride, normalisation by
// the training part's statistics (and by stored ones), the built-in sets from Debian's packages, and errors that
// name the file and line.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { DataError } from "../../src/errors.js";
import {
  cutWindows,
  loadSeriesSet,
  parseCsvSeries,
  readCsvSeries,
  seriesStats,
} from "../../src/modality/series/csv.js";
import { assertClose } from "../helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lastframe-csv-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("parses chosen columns, quoted fields and timestamps in several spellings", () => {
  const text =
    'when,"a, quoted",b\r\n2020-01-01T00:00:00Z,1,10\r\n2020/01/01 01:00,"2.5",20\n20200102,-3,30\n';
  const s = parseCsvSeries(text, "t.csv", { timestamp: "when" });
  assert.deepEqual(s.columns, ["a, quoted", "b"]);
  assert.deepEqual(Array.from(s.data), [1, 2.5, -3, 10, 20, 30]);
  assert.deepEqual(Array.from(s.times!), [
    Date.UTC(2020, 0, 1),
    Date.UTC(2020, 0, 1, 1),
    Date.UTC(2020, 0, 2),
  ]);
  const b = parseCsvSeries(text, "t.csv", { columns: ["b"] });
  assert.deepEqual([b.columns, Array.from(b.data), b.times], [["b"], [10, 20, 30], null]);
});

test("gaps fail naming the line, or are interpolated linearly with the ends taking the nearest value", () => {
  const text = "x,y\n,1\n2,NA\n,3\n,4\n8,5\n,6\n";
  assert.throws(
    () => parseCsvSeries(text, "g.csv"),
    /^DataError: g\.csv:2: column x is empty \(pass missing/,
  );
  const s = parseCsvSeries(text, "g.csv", { missing: "interpolate" });
  assert.deepEqual(Array.from(s.data), [2, 2, 4, 6, 8, 8, 1, 2, 3, 4, 5, 6]);
  assert.equal(s.filled, 5);
});

test("bad files fail with a DataError naming the file and line", () => {
  const bad: [string, string, object?][] = [
    ["x\n1\nabc\n", 'f.csv:3: column x is "abc", not a number'],
    ["x,y\n1,2\n3\n", "f.csv:3: 1 fields, the header has 2"],
    [
      "t,x\n2020-01-02,1\n2020-01-01,2\n",
      "f.csv:3: timestamp 2020-01-01 does not come after",
      { timestamp: "t" },
    ],
    ["t,x\n2020-02-30,1\n", 'f.csv:2: "2020-02-30" is not a timestamp', { timestamp: "t" }],
    ["x\n1\n", 'f.csv: no value column "y" (columns: x)', { columns: ["y"] }],
    ['x\n"1\n', "f.csv:3: a quoted field is not closed"],
    ["x\n", "f.csv: needs a header line and at least one row"],
    ["x\n,\n", "f.csv:2: 2 fields, the header has 1"],
  ];
  for (const [text, message, o] of bad)
    assert.throws(
      () => parseCsvSeries(text, "f.csv", o),
      (e: unknown) => e instanceof DataError && e.message.startsWith(message),
      message,
    );
  assert.throws(
    () => parseCsvSeries("x\n,\n", "f.csv", { missing: "interpolate", columns: ["x"] }),
    /f\.csv:2/,
  );
  assert.throws(
    () => parseCsvSeries("x\nNA\n", "f.csv", { missing: "interpolate" }),
    /column x has no values/,
  );
});

test("windows of `length` every `stride` points, normalised per column by the given statistics", () => {
  // Two columns over 10 points: x = 0 … 9, y = 100 − 2x.
  const rows = Array.from({ length: 10 }, (_, t) => `${t},${100 - 2 * t}`);
  const s = parseCsvSeries(`x,y\n${rows.join("\n")}\n`, "w.csv");
  const stats = seriesStats(s, 0, 8);
  // Over the first 8 points: x has mean 3.5 and variance (8² − 1)/12 = 5.25; y = 100 − 2x.
  assertClose(stats.mean, [3.5, 93], 1e-12);
  assertClose(stats.std, [Math.sqrt(5.25), 2 * Math.sqrt(5.25)], 1e-12);
  const w = cutWindows(s, stats, 4, 3);
  assert.deepEqual([w.n, w.c, w.length, w.starts], [3, 2, 4, [0, 3, 6]]);
  const z = (v: number, c: number) => (v - stats.mean[c]!) / stats.std[c]!;
  const want = w.starts.flatMap((start) => [
    ...[0, 1, 2, 3].map((t) => z(start + t, 0)),
    ...[0, 1, 2, 3].map((t) => z(100 - 2 * (start + t), 1)),
  ]);
  assertClose(w.data, want, 1e-6, "windows");
  // Only whole windows: points 8 and 9 start none; a range shorter than a window is an error.
  assert.deepEqual(cutWindows(s, stats, 2, 4, 5, 10).starts, [5]);
  assert.throws(() => cutWindows(s, stats, 6, 1, 5, 10), /w\.csv: 5 points cannot hold a window of 6/);
  assert.throws(() => cutWindows(s, stats, 0, 1), /positive integer for window length/);
  assert.throws(() => seriesStats(parseCsvSeries("x\n1\n1\n", "c.csv")), /c\.csv: column x is constant/);
});

test("a file set splits in time, normalises by its training part, and takes stored statistics", () => {
  const file = path.join(dir, "ramp.csv");
  writeFileSync(file, `v\n${Array.from({ length: 100 }, (_, t) => t).join("\n")}\n`);
  const set = loadSeriesSet(file, { window: 10, stride: 5, testFraction: 0.3 });
  assert.equal(set.name, "ramp");
  // Training part: points 0 … 69, mean 34.5; test windows start at point 70.
  assertClose(set.stats.mean, [34.5], 1e-12);
  assert.deepEqual([set.train.n, set.test.starts], [13, [70, 75, 80, 85, 90]]);
  assertClose([set.test.data[0]!], [(70 - 34.5) / set.stats.std[0]!], 1e-6);
  const stored = { mean: [10], std: [2] };
  const again = loadSeriesSet(file, { window: 10, stride: 5, testFraction: 0.3, stats: stored });
  assert.deepEqual([again.stats, again.train.data[1]], [stored, (1 - 10) / 2]);
  assert.deepEqual(Array.from(readCsvSeries(file).data.subarray(0, 3)), [0, 1, 2]);
  assert.throws(
    () => readCsvSeries(path.join(dir, "nope.csv")),
    /^DataError: Cannot read .*nope\.csv: ENOENT/,
  );
  assert.throws(
    () => loadSeriesSet(path.join(dir, "nope.csv")),
    /No data set or file .*nope\.csv.*built in: seattle-temps, co2/,
  );
});

test("built-in sets: seattle-temps (hourly, 8,759 points) and co2 (weekly, 59 gaps filled)", () => {
  const temps = loadSeriesSet("seattle-temps");
  assert.equal(temps.series.length, 8759);
  assert.deepEqual([temps.series.data[0], temps.series.data[1]], [Math.fround(39.4), Math.fround(39.2)]);
  assert.equal(temps.series.times![1]! - temps.series.times![0]!, 3600_000);
  assert.equal(temps.series.times![0], Date.UTC(2010, 0, 1));
  assert.deepEqual([temps.period, temps.train.length, temps.train.c], [24, 192, 1]);
  // 7,007 training points: windows at 0, 24, …, 6,792.
  assert.equal(temps.train.n, Math.floor((7007 - 192) / 24) + 1);
  const co2 = loadSeriesSet("co2");
  assert.deepEqual([co2.series.length, co2.series.filled, co2.period], [2284, 59, 52]);
  assert.equal(co2.series.times![0], Date.UTC(1958, 2, 29));
  assert.ok(co2.series.data.every(Number.isFinite));
  // The training windows are normalised by the training part: their points' mean is near 0 (windows overlap).
  const mean = co2.train.data.reduce((a, v) => a + v, 0) / co2.train.data.length;
  assert.ok(Math.abs(mean) < 0.1, `mean of normalised co2 training windows ${mean}`);
});
