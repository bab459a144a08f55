import { test } from "node:test";
import assert from "node:assert/strict";
import { Progress, formatDuration, formatCount } from "../../src/data/index.js";

function stream(isTTY: boolean) {
  const out: string[] = [];
  return { out, s: { isTTY, columns: 100, write: (x: string) => out.push(x) } };
}

test("formatDuration and formatCount", () => {
  assert.equal(formatDuration(5), "0:05");
  assert.equal(formatDuration(125), "2:05");
  assert.equal(formatDuration(3725), "1:02:05");
  assert.equal(formatDuration(Infinity), "?");
  assert.equal(formatCount(950), "950");
  assert.equal(formatCount(12_345), "12.3k");
  assert.equal(formatCount(2_500_000), "2.5M");
  assert.equal(formatCount(0.5), "0.500");
});

test("Progress on a TTY redraws one line with bar, rate, ETA and fields", () => {
  let now = 0;
  const { out, s } = stream(true);
  const p = new Progress({ total: 1000, label: "train", unit: "step", stream: s, now: () => now });
  now = 1000;
  p.update(100, { loss: 0.123456 });
  assert.equal(out.length, 1);
  assert.match(out[0]!, /^\rtrain \[=+>\s*\] 100\/1,000 100 step\/s ETA 0:09 loss=0\.1235$/);
  now = 1050;
  p.update(110); // within the redraw interval: no output
  assert.equal(out.length, 1);
  now = 2000;
  p.tick(90, { lr: "1e-4" });
  assert.match(out[1]!, /^\rtrain \[.*\] 200\/1,000 100 step\/s ETA 0:08 loss=0\.1235 lr=1e-4/);
  p.log("a message");
  assert.equal(out[out.length - 1], "a message\n");
  now = 4000;
  p.done();
  assert.match(out[out.length - 2]!, /200\/1,000 50 step\/s in 0:04/);
  assert.equal(out[out.length - 1], "\n");
  const n = out.length;
  p.tick(); // ignored after done
  assert.equal(out.length, n);
});

test("Progress without a TTY prints an occasional plain line and a final one; disabled prints nothing", () => {
  let now = 0;
  const { out, s } = stream(false);
  const p = new Progress({ total: 10, label: "prep", stream: s, now: () => now, logIntervalMs: 6000 });
  for (let i = 1; i <= 10; i++) {
    now = i * 1000;
    p.tick();
  }
  p.done();
  assert.deepEqual(out, ["prep 6/10 1 it/s ETA 0:04\n", "prep 10/10 1 it/s in 0:10\n"]);
  const q = stream(false);
  const off = new Progress({ total: 10, stream: q.s, enabled: false });
  off.tick(5);
  off.done();
  assert.deepEqual(q.out, []);
  // Unknown total: counter and rate only.
  const u = stream(true);
  now = 0;
  const open = new Progress({ stream: u.s, now: () => now });
  now = 2000;
  open.update(50);
  assert.equal(u.out[0], "\r50 25 it/s");
});
