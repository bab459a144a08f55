// spoken-digits: the resampler (a tone below the cut-off passes, one above it is removed), and a small grid
// prepared with espeak-ng for real: shapes, labels, the split by voice, clips scaled and centred, quantised to
// 16 bits, read back from the cache identically, a damaged cache rebuilt, and a missing espeak-ng named.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { DataError } from "../../src/errors.js";
import { loadSpokenDigits, resample } from "../../src/modality/series/spoken-digits.js";

const dir = mkdtempSync(path.join(tmpdir(), "lastframe-digits-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const tone = (hz: number, rate: number, n: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * hz * i) / rate));

test("resample 22,050 → 8,000 Hz keeps a 1 kHz tone and removes a 5 kHz one", () => {
  const n = 22050;
  const pass = resample(tone(1000, 22050, n), 22050, 8000, 3600);
  assert.equal(pass.length, 8000);
  const want = tone(1000, 8000, 8000);
  let err = 0;
  for (let m = 200; m < 7800; m++) err = Math.max(err, Math.abs(pass[m]! - want[m]!));
  assert.ok(err < 5e-3, `1 kHz tone: max error ${err}`);
  // Without the low-pass, 5 kHz would alias to 3 kHz at full amplitude.
  const stop = resample(tone(5000, 22050, n), 22050, 8000, 3600);
  let peak = 0;
  for (let m = 200; m < 7800; m++) peak = Math.max(peak, Math.abs(stop[m]!));
  assert.ok(peak < 0.01, `5 kHz tone: peak ${peak} after resampling`);
  const flat = resample(new Float32Array(1000).fill(0.5), 22050, 8000);
  assert.ok(
    flat.slice(50, -50).every((v) => Math.abs(v - 0.5) < 1e-6),
    "a constant stays constant",
  );
});

const grid = {
  accents: ["en-us"],
  variants: ["m1", "f5"],
  speeds: [175],
  pitches: [50],
  testVariants: ["f5"],
};

test("a small grid: ten digits per voice, split by voice, scaled to peak 0.9, centred, cached", async () => {
  const cacheDir = path.join(dir, "cache");
  const d = await loadSpokenDigits({ grid, cacheDir, concurrency: 2, progress: false });
  assert.equal(d.info.fromCache, false);
  assert.equal(d.sampleRate, 8000);
  for (const [split, voice] of [
    [d.train, "en-us+m1 s175 p50"],
    [d.test, "en-us+f5 s175 p50"],
  ] as const) {
    assert.deepEqual([split.n, split.c, split.length, split.data.length], [10, 1, 8000, 80000]);
    assert.deepEqual(Array.from(split.labels), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(new Set(split.speakers), new Set([voice]));
    for (let i = 0; i < 10; i++) {
      const clip = split.data.subarray(i * 8000, (i + 1) * 8000);
      let peak = 0;
      let first = -1;
      let last = -1;
      clip.forEach((v, t) => {
        peak = Math.max(peak, Math.abs(v));
        if (Math.abs(v) > 0.002) {
          if (first < 0) first = t;
          last = t;
        }
      });
      assert.ok(Math.abs(peak - 0.9) < 1e-4, `${voice} ${d.classes[i]}: peak ${peak}`);
      // The word's sound is 0.2–1 s long and centred: as much silence before it as after (to a sample).
      assert.ok(last - first > 1600, `${d.classes[i]} lasts ${last - first} samples`);
      assert.ok(Math.abs(first - (7999 - last)) <= 1, `${d.classes[i]} spans ${first}…${last}`);
      assert.ok(
        clip.every((v) => Number.isInteger(v * 32768)),
        "16-bit values",
      );
    }
  }
  // The voices differ: the same digit in the test voice is not the training voice's clip.
  assert.notDeepEqual(d.train.data.subarray(0, 8000), d.test.data.subarray(0, 8000));

  const again = await loadSpokenDigits({ grid, cacheDir });
  assert.equal(again.info.fromCache, true);
  assert.equal(again.info.cacheFile, d.info.cacheFile);
  assert.deepEqual(again.train.data, d.train.data);
  assert.deepEqual([again.test.data, again.test.speakers], [d.test.data, d.test.speakers]);

  writeFileSync(d.info.cacheFile!, "garbage");
  const notes: string[] = [];
  const rebuilt = await loadSpokenDigits({ grid, cacheDir, progress: false, log: (m) => notes.push(m) });
  assert.equal(rebuilt.info.fromCache, false);
  assert.deepEqual(rebuilt.train.data, d.train.data, "preparation is deterministic");
  assert.match(
    notes.join("\n"),
    /Rebuilding .*spoken-digits-[0-9a-f]{16}\.lfs: it holds not this lastframe's cache format/,
  );
});

test("a missing espeak-ng and a grid without a test voice fail naming the problem", async () => {
  await assert.rejects(
    loadSpokenDigits({ grid, espeak: path.join(dir, "no-espeak"), cache: false }),
    (e: unknown) => e instanceof DataError && /spoken-digits needs espeak-ng \(.*no-espeak: /.test(e.message),
  );
  await assert.rejects(
    loadSpokenDigits({ grid: { ...grid, testVariants: [] }, cache: false }),
    /the grid's testVariants \(\) leave a split empty/,
  );
});
