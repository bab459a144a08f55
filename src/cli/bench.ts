// `lastframe bench`: training-step timings through lastframe against PyTorch twins in the same run.
import { hvaeCases } from "../bench/hvae-cases.js";
import { referenceCase, type BenchCase } from "../bench/cases.js";
import { vqCases } from "../bench/vq-cases.js";
import { evalBenchCases } from "../eval/bench-cases.js";
import { videoBenchCases } from "./video.js";
import { benchDefaults, runBench, type BenchResult } from "../bench/run.js";
import { torchVersion } from "../tensor/index.js";
import { type FlagSpecs, parseCommand, UsageError } from "./args.js";
import { hostname, cpus } from "node:os";

export const benchFlags = {
  json: { type: "boolean", help: "print one JSON object instead of a table", default: false },
  cases: { type: "list", help: "which cases to run (default: all)" },
  rounds: { type: "int", help: "interleaved rounds per case", default: benchDefaults.rounds },
  steps: { type: "int", help: "timed steps per round and side", default: benchDefaults.stepsPerRound },
  warmup: { type: "int", help: "untimed warm-up steps per side", default: benchDefaults.warmup },
  noTorch: { type: "boolean", help: "skip the PyTorch side", default: false },
  torchAllocator: {
    type: "string",
    help: "glibc allocator settings for PyTorch: same as lastframe's, or stock",
    default: "same",
    choices: ["same", "stock"],
  },
} satisfies FlagSpecs;

/** Every bench case, in the order they run; later layers (models, video, eval) add theirs here. */
export function allCases(): BenchCase[] {
  return [referenceCase, ...hvaeCases, ...vqCases, ...videoBenchCases(), ...evalBenchCases];
}

export async function benchCommand(argv: string[]): Promise<void> {
  const f = parseCommand(argv, {
    name: "bench",
    usage: "[--cases a,b] [--json]",
    summary: "Time training steps through lastframe against PyTorch twins in the same run.",
    flags: benchFlags,
    more: () =>
      `Cases: ${allCases()
        .map((c) => c.name)
        .join(", ")}`,
  });
  if (!f) return;
  const cases = allCases();
  const selected = f.cases
    ? f.cases.map((name) => {
        const c = cases.find((x) => x.name === name);
        if (!c)
          throw new UsageError(
            `Unknown bench case ${JSON.stringify(name)}. Valid cases: ${cases.map((x) => x.name).join(", ")}`,
          );
        return c;
      })
    : cases;
  const results = await runBench(
    selected,
    {
      rounds: f.rounds,
      stepsPerRound: f.steps,
      warmup: f.warmup,
      python: f.noTorch ? null : benchDefaults.python,
      torchAllocator: f.torchAllocator as "same" | "stock",
    },
    f.json ? () => {} : (s) => process.stderr.write(s + "\n"),
  );
  const env = {
    libtorch: torchVersion(),
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    host: hostname(),
  };
  if (f.json) {
    // The first case's numbers are also at the top level (the Foundation issue's contract).
    const ref = results[0]!;
    console.log(
      JSON.stringify({
        ts_ms: ref.ts_ms,
        torch_ms: ref.torch_ms,
        ratio: ref.ratio,
        gflops: ref.gflops,
        cases: results,
        env,
      }),
    );
    return;
  }
  printTable(results);
  console.log(
    `\nlibtorch ${env.libtorch}, ${env.cores} × ${env.cpu}; medians over ${results[0]?.steps ?? 0} steps per side, interleaved`,
  );
}

function printTable(rows: BenchResult[]): void {
  const head = ["case", "lastframe ms", "PyTorch ms", "ratio", "GFLOP/s", "images/s"];
  const body = rows.map((r) => [
    r.name,
    fmt(r.ts_ms),
    fmt(r.torch_ms),
    fmt(r.ratio),
    fmt(r.gflops),
    fmt(r.items_per_s),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  for (const row of [head, ...body])
    console.log(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
}

const fmt = (v: number | null) => (v === null ? "—" : String(v));
