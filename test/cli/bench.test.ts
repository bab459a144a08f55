// The CLI front door: bench's JSON contract, and user mistakes exiting 2 with one clear line, no stack.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../../bin/lastframe.js", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });

test("bench --json prints the timing contract with a PyTorch side", () => {
  const r = run("bench", "--json", "--cases", "reference", "--rounds", "1", "--steps", "2", "--warmup", "1");
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  for (const k of ["ts_ms", "torch_ms", "ratio", "gflops"]) assert.equal(typeof out[k], "number", k);
  assert.ok(Math.abs(out.ratio - out.ts_ms / out.torch_ms) < 0.01);
  assert.equal(out.cases[0].name, "reference");
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
      ["bench", "--torch-allocator", "q"],
      'lastframe bench: Expected one of same, stock for --torch-allocator but received "q"',
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
