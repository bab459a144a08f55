// `lastframe bench`: training-step timings through lastframe against PyTorch twins in the same run.
import { readFileSync } from "node:fs";
import { ddpmCases } from "../bench/ddpm-cases.js";
import { hvaeCases } from "../bench/hvae-cases.js";
import { referenceCase, type BenchCase } from "../bench/cases.js";
import { vqCases } from "../bench/vq-cases.js";
import { evalBenchCases } from "../eval/bench-cases.js";
import { videoBenchCases } from "./video.js";
import { benchDefaults, fmtInterval, runBench, type BenchResult } from "../bench/run.js";
import { type ComparableCase, type Comparison, compareBenches } from "../bench/interval.js";
import { torchVersion } from "../tensor/index.js";
import { type FlagSpecs, parseCommand, UsageError } from "./args.js";
import { hostname, cpus } from "node:os";

export const benchFlags = {
  json: { type: "boolean", help: "print one JSON object instead of a table", default: false },
  cases: { type: "list", help: "which cases to run (default: all)" },
  rounds: {
    type: "int",
    help: "interleaved rounds per case, at least",
    default: benchDefaults.minRounds,
  },
  maxRounds: {
    type: "int",
    help: "the cap on rounds per case while the ratio's interval is wider than the target",
    default: benchDefaults.maxRounds,
  },
  target: {
    type: "number",
    help: "stop a case once its ratio's 95 % interval is within ± this",
    default: benchDefaults.target,
  },
  steps: { type: "int", help: "timed steps per round and side", default: benchDefaults.stepsPerRound },
  warmup: { type: "int", help: "untimed warm-up steps per side", default: benchDefaults.warmup },
  noTorch: { type: "boolean", help: "skip the PyTorch side", default: false },
  stock: {
    type: "boolean",
    help: "also time PyTorch as users run it, with glibc's stock allocator (--no-stock skips it)",
    default: benchDefaults.stock,
  },
  compare: {
    type: "string",
    help: "a saved `bench --json` output: flag cases whose ratio got worse (exit 1 if any)",
  },
} satisfies FlagSpecs;

/** Every bench case, in the order they run; later layers (models, video, eval) add theirs here. */
export function allCases(): BenchCase[] {
  return [referenceCase, ...hvaeCases, ...vqCases, ...ddpmCases, ...videoBenchCases(), ...evalBenchCases];
}

/** The cases of a saved bench JSON; a file that is not one is the user's mistake. */
function readSaved(file: string): ComparableCase[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new UsageError(`Cannot read --compare file ${file}: ${(err as Error).message.split("\n")[0]}`);
  }
  const cases = (parsed as { cases?: unknown } | null)?.cases;
  if (
    !Array.isArray(cases) ||
    !cases.every((c) => typeof c?.name === "string" && typeof c.ts_ms === "number")
  )
    throw new UsageError(`--compare file ${file} is not a \`lastframe bench --json\` output (no cases)`);
  return cases.map((c: ComparableCase) => ({
    name: c.name,
    ts_ms: c.ts_ms,
    ratio: c.ratio ?? null,
    ratio_lo: c.ratio_lo ?? null,
    ratio_hi: c.ratio_hi ?? null,
  }));
}

export async function benchCommand(argv: string[]): Promise<void> {
  const f = parseCommand(argv, {
    name: "bench",
    usage: "[--cases a,b] [--json] [--compare saved.json]",
    summary: "Time training steps through lastframe against PyTorch twins in the same run.",
    flags: benchFlags,
    more: () =>
      `Cases: ${allCases()
        .map((c) => c.name)
        .join(", ")}`,
  });
  if (!f) return;
  if (!(f.rounds >= 1 && f.maxRounds >= f.rounds))
    throw new UsageError(`Expected 1 ≤ --rounds ≤ --max-rounds but received ${f.rounds} and ${f.maxRounds}`);
  if (!(f.target > 0)) throw new UsageError(`Expected a positive --target but received ${f.target}`);
  const saved = f.compare === undefined ? null : readSaved(f.compare);
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
  const { results, sgemm_gflops } = await runBench(
    selected,
    {
      minRounds: f.rounds,
      maxRounds: f.maxRounds,
      target: f.target,
      stepsPerRound: f.steps,
      warmup: f.warmup,
      python: f.noTorch ? null : benchDefaults.python,
      stock: f.stock,
    },
    f.json ? () => {} : (s) => process.stderr.write(s + "\n"),
  );
  const comparison = saved ? compareBenches(saved, results) : null;
  const env = {
    libtorch: torchVersion(),
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    host: hostname(),
    sgemm_gflops,
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
        ...(comparison ? { compare: comparison } : {}),
      }),
    );
  } else {
    printTable(results);
    console.log(
      `\nlibtorch ${env.libtorch}, ${env.cores} × ${env.cpu}, sgemm ${sgemm_gflops} GFLOP/s at ${results[0]?.threads} thread(s); ` +
        `ratios: geometric means of interleaved rounds, 95 % intervals; FLOPs counted from conv/matmul shapes`,
    );
    if (comparison) printComparison(comparison);
  }
  if (comparison?.some((c) => c.verdict === "slower")) process.exitCode = 1;
}

function printTable(rows: BenchResult[]): void {
  const head = [
    "case",
    "lastframe ms",
    "PyTorch ms",
    "ratio [95 %]",
    "stock PyTorch ms",
    "ratio to stock",
    "rounds",
    "GFLOP/step",
    "GFLOP/s",
    "% sgemm",
    "images/s",
  ];
  const body = rows.map((r) => [
    r.name,
    fmt(r.ts_ms),
    fmt(r.torch_ms),
    fmtInterval(r),
    fmt(r.torch_stock_ms),
    fmtInterval({ ratio: r.ratio_stock, ratio_lo: r.ratio_stock_lo, ratio_hi: r.ratio_stock_hi }),
    String(r.rounds),
    fmt(r.flops === null ? null : Math.round(r.flops / 1e6) / 1e3),
    fmt(r.gflops),
    fmt(r.peak_pct),
    fmt(r.items_per_s),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  for (const row of [head, ...body])
    console.log(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
}

function printComparison(rows: Comparison[]): void {
  console.log("\nagainst the saved bench (ratio before → after):");
  for (const c of rows)
    console.log(`  ${c.name}: ${fmt(c.before.ratio)} → ${fmt(c.after.ratio)}  ${c.verdict}`);
}

const fmt = (v: number | null) => (v === null ? "—" : String(v));
