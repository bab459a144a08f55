// The CLI front door: bench's JSON contract, and user mistakes exiting 2 with one clear line, no stack.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = fileURLToPath(new URL("../../../bin/lastframe.js", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });

test("bench --json prints the timing contract: both PyTorch sides, intervals, FLOPs, % of sgemm; --compare", () => {
  const args = [
    "bench",
    "--json",
    "--cases",
    "reference",
    "--rounds",
    "2",
    "--max-rounds",
    "3",
    "--steps",
    "2",
  ];
  const r = run(...args, "--warmup", "1");
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  for (const k of ["ts_ms", "torch_ms", "ratio", "gflops"]) assert.equal(typeof out[k], "number", k);
  const c = out.cases[0];
  assert.equal(c.name, "reference");
  assert.ok(c.rounds >= 2 && c.rounds <= 3, String(c.rounds));
  assert.ok(c.ratio_lo <= c.ratio && c.ratio <= c.ratio_hi, JSON.stringify(c));
  assert.ok(c.ratio_stock_lo <= c.ratio_stock && c.ratio_stock <= c.ratio_stock_hi, JSON.stringify(c));
  assert.equal(typeof c.torch_stock_ms, "number");
  // 3 × the forward's multiply-adds × 2 of the three convs and the linear (batch 32, 32×32 input).
  const conv = (cin: number, cout: number, hout: number) => 2 * 32 * cin * 9 * cout * hout * hout;
  const forward = conv(3, 64, 32) + conv(64, 64, 16) + conv(64, 128, 8) + 2 * 32 * 128 * 10;
  assert.equal(c.flops, 3 * forward);
  // gflops comes from the unrounded step time and is rounded to 0.01; ts_ms is rounded to 0.01 ms, which on a fast
  // step (15 ms at 200 GFLOP/s) moves flops / ts_ms by more than 0.01 GFLOP/s: allow both roundings.
  const fromTs = c.flops / (c.ts_ms * 1e6);
  assert.ok(Math.abs(c.gflops - fromTs) <= (fromTs * 0.005) / c.ts_ms + 0.005 + 1e-9, JSON.stringify(c));
  // sgemm_gflops is rounded to 0.1 GFLOP/s, peak_pct computed before that.
  const pct = (100 * c.gflops) / out.env.sgemm_gflops;
  assert.ok(Math.abs(c.peak_pct - pct) <= 0.01 * pct + 0.1, `${c.peak_pct} ${JSON.stringify(out.env)}`);
  // Against itself: nothing is slower (the same intervals overlap), and the comparison is in the output.
  const saved = join(mkdtempSync(join(tmpdir(), "bench-")), "saved.json");
  writeFileSync(saved, r.stdout);
  const again = run(...args, "--warmup", "1", "--no-torch", "--compare", saved);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(
    JSON.parse(again.stdout).compare.map((x: { verdict: string }) => x.verdict),
    ["not judged"],
  );
});

test("generated op wrappers are up to date with the linked libtorch", () => {
  const r = spawnSync(
    process.execPath,
    [fileURLToPath(new URL("../../tools/gen-ops.js", import.meta.url)), "--check"],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
});

test("user mistakes exit 2 with one line and no stack trace", () => {
  const cases: [string[], string][] = [
    [["nope"], 'lastframe: unknown command "nope". Valid commands: '],
    [
      ["bench", "--bogus"],
      "lastframe bench: Unknown flag --bogus for 'lastframe bench'. Valid flags: --json",
    ],
    [["bench", "--rounds", "x"], 'lastframe bench: Expected integer for --rounds but received "x"'],
    [["bench", "--cases", "zzz"], 'lastframe bench: Unknown bench case "zzz". Valid cases: reference'],
    [
      ["bench", "--compare", "/nonexistent.json"],
      "lastframe bench: Cannot read --compare file /nonexistent.json",
    ],
    [
      ["bench", "--rounds", "5", "--max-rounds", "2"],
      "lastframe bench: Expected 1 ≤ --rounds ≤ --max-rounds",
    ],
  ];
  for (const [args, start] of cases) {
    const r = run(...args);
    assert.equal(r.status, 2, args.join(" "));
    assert.ok(r.stderr.startsWith(start), `${args.join(" ")}: ${r.stderr}`);
    assert.ok(!/\n\s+at /.test(r.stderr), `stack trace printed for ${args.join(" ")}`);
  }
  const help = run("--help");
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: lastframe <command>/);
});
