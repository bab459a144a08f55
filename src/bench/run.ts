// Times bench cases through lastframe and their PyTorch twins side by side. This machine's speed drifts by
// ±30% from minute to minute, so the sides alternate in short rounds, only their ratio is trusted, and rounds go on
// until its interval is narrow enough (src/bench/interval.ts).
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface, type Interface } from "node:readline";
import { resolve } from "node:path";
import { packageRoot } from "../native/load.js";
import { getNumThreads, manualSeed } from "../tensor/index.js";
import type { BenchCase } from "./cases.js";
import { countFlops, sgemmPeak } from "./flops.js";
import { halfWidth, ratioInterval } from "./interval.js";

export interface BenchOptions {
  /** Interleaved rounds per case: at least minRounds, then more until the ratio's interval is within ±target. */
  minRounds: number;
  /** The cap on rounds per case: a case that has not resolved by then reports the interval it has. */
  maxRounds: number;
  /** Half-width of the 95 % interval of the ratio to PyTorch (same allocator) at which a case stops. */
  target: number;
  stepsPerRound: number;
  warmup: number;
  /** Python with torch (Debian's python3-torch); null skips the PyTorch side. */
  python: string | null;
  /**
   * Also time PyTorch as users run it (glibc's stock allocator). The main PyTorch side always runs with the glibc
   * settings lastframe's addon applies (native/addon.cc tuneAllocator), so that ratio compares the libraries, not
   * the allocators.
   */
  stock: boolean;
}

export const benchDefaults: BenchOptions = {
  minRounds: 4,
  maxRounds: 20,
  target: 0.03,
  stepsPerRound: 4,
  warmup: 3,
  python: process.env.LASTFRAME_TORCH_PYTHON ?? "/usr/bin/python3",
  stock: true,
};

/** glibc's environment spelling of the mallopt calls in native/addon.cc. */
const SAME_ALLOCATOR = {
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(1 << 30),
};

export interface BenchResult {
  name: string;
  description: string;
  /** Medians over all timed steps. */
  ts_ms: number;
  torch_ms: number | null;
  /** lastframe / PyTorch with the same allocator: the geometric mean of the per-round ratios, 95 % interval. */
  ratio: number | null;
  ratio_lo: number | null;
  ratio_hi: number | null;
  /** PyTorch as users run it (stock allocator), and lastframe's ratio to it. */
  torch_stock_ms: number | null;
  ratio_stock: number | null;
  ratio_stock_lo: number | null;
  ratio_stock_hi: number | null;
  /** FLOPs of one step as counted (src/bench/flops.ts), null when it runs no counted operator. */
  flops: number | null;
  gflops: number | null;
  /** GFLOP/s as a % of the sgemm rate this bench measured. */
  peak_pct: number | null;
  items_per_s: number | null;
  threads: number;
  rounds: number;
  steps: number;
}

export interface BenchRun {
  results: BenchResult[];
  /** fp32 n = 1024 matmul rate at the bench's thread count, GFLOP/s. */
  sgemm_gflops: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A persistent PyTorch worker (bench/twins.py) answering one JSON line per command. */
class TorchWorker {
  #proc: ChildProcessWithoutNullStreams;
  #lines: Interface;
  #pending: ((line: string) => void)[] = [];
  #stderr = "";

  constructor(python: string, env: Record<string, string>) {
    this.#proc = spawn(python, [resolve(packageRoot, "bench/twins.py")], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    this.#proc.stderr.on("data", (d: Buffer) => (this.#stderr += d.toString()));
    this.#lines = createInterface({ input: this.#proc.stdout });
    this.#lines.on("line", (line) => this.#pending.shift()?.(line));
  }

  request(cmd: object): Promise<Record<string, unknown>> {
    return new Promise((resolveLine, reject) => {
      const onExit = () =>
        reject(new Error(`PyTorch worker exited: ${this.#stderr.trim().split("\n").pop() ?? ""}`));
      this.#proc.once("exit", onExit);
      this.#proc.once("error", reject);
      this.#pending.push((line) => {
        this.#proc.off("exit", onExit);
        this.#proc.off("error", reject);
        const reply = JSON.parse(line) as Record<string, unknown>;
        if (reply.error) reject(new Error(String(reply.error)));
        else resolveLine(reply);
      });
      this.#proc.stdin.write(JSON.stringify(cmd) + "\n");
    });
  }

  close(): void {
    this.#proc.stdin.end();
    this.#proc.kill();
  }
}

function timeSteps(step: () => void, n: number): number[] {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    step();
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** One timed side of a case: lastframe in this process, or a PyTorch worker. */
interface Side {
  run(steps: number): Promise<number[]>;
  /** Per-round medians and every step's time. */
  rounds: number[];
  all: number[];
}

function side(run: (steps: number) => Promise<number[]>): Side {
  return { run, rounds: [], all: [] };
}

export async function runBench(
  cases: BenchCase[],
  opts: BenchOptions,
  log: (s: string) => void = () => {},
): Promise<BenchRun> {
  const threads = getNumThreads();
  const sgemm = sgemmPeak();
  log(`sgemm (n = 1024, ${threads} thread${threads > 1 ? "s" : ""}): ${sgemm.toFixed(1)} GFLOP/s`);
  const twins = opts.python && cases.some((c) => c.twin);
  const same = twins ? new TorchWorker(opts.python!, tunedEnv()) : null;
  const stock = twins && opts.stock ? new TorchWorker(opts.python!, {}) : null;
  const results: BenchResult[] = [];
  try {
    for (const c of cases) {
      log(`bench ${c.name}: ${c.description}`);
      manualSeed(0);
      const runner = c.setup();
      const workers = c.twin ? [same, stock] : [null, null];
      for (const w of workers)
        if (w)
          await w.request({ op: "setup", case: c.twin!.case, args: c.twin!.args ?? {}, threads, seed: 0 });
      const ts = side((n) => Promise.resolve(timeSteps(runner.step, n)));
      const [py, pyStock] = workers.map((w) =>
        w ? side(async (n) => (await w.request({ op: "run", steps: n })).ms as number[]) : null,
      );
      const sides = [ts, py, pyStock].filter((x): x is Side => x !== null);
      const warmup = c.repeat?.warmup ?? opts.warmup;
      const maxRounds = c.repeat?.rounds ?? opts.maxRounds;
      const minRounds = Math.min(opts.minRounds, maxRounds);
      const steps = c.repeat?.steps ?? opts.stepsPerRound;
      // lastframe's first warm-up step (an extra one for cases without warm-up) is the one whose FLOPs are counted.
      const flops = countFlops(runner.step) || null;
      await ts.run(Math.max(0, warmup - 1));
      for (const s of sides.slice(1)) await s.run(warmup);
      for (let r = 0; r < maxRounds; r++) {
        // Rotate who goes first, so that no side always runs right after another's allocations.
        for (let i = 0; i < sides.length; i++) {
          const s = sides[(r + i) % sides.length]!;
          const ms = await s.run(steps);
          s.rounds.push(median(ms));
          s.all.push(...ms);
        }
        if (r + 1 < minRounds) continue;
        if (!py || halfWidth(ratioInterval(ts.rounds, py.rounds)) <= opts.target) break;
      }
      runner.dispose();
      results.push(summarise(c, ts, py, pyStock, flops, sgemm, threads));
      log(`  ${ts.rounds.length} rounds${py ? `, ratio ${fmtInterval(results.at(-1)!)}` : ""}`);
    }
  } finally {
    same?.close();
    stock?.close();
  }
  return { results, sgemm_gflops: round(sgemm, 1) };
}

/** The glibc settings lastframe runs with, unless lastframe itself runs with the stock ones. */
function tunedEnv(): Record<string, string> {
  return process.env.LASTFRAME_MALLOC === "default" ? {} : SAME_ALLOCATOR;
}

function summarise(
  c: BenchCase,
  ts: Side,
  py: Side | null,
  pyStock: Side | null,
  flops: number | null,
  sgemm: number,
  threads: number,
): BenchResult {
  const tsMs = median(ts.all);
  const vs = (other: Side | null) => (other ? ratioInterval(ts.rounds, other.rounds) : null);
  const [fair, users] = [vs(py), vs(pyStock)];
  const gflops = flops ? flops / (tsMs * 1e6) : null;
  const r3 = (x: number | null | undefined) => (x === null || x === undefined ? null : round(x, 3));
  return {
    name: c.name,
    description: c.description,
    ts_ms: round(tsMs),
    torch_ms: py ? round(median(py.all)) : null,
    ratio: r3(fair?.ratio),
    ratio_lo: r3(fair?.lo),
    ratio_hi: r3(fair?.hi),
    torch_stock_ms: pyStock ? round(median(pyStock.all)) : null,
    ratio_stock: r3(users?.ratio),
    ratio_stock_lo: r3(users?.lo),
    ratio_stock_hi: r3(users?.hi),
    flops,
    gflops: gflops === null ? null : round(gflops, 2),
    peak_pct: gflops === null ? null : round((100 * gflops) / sgemm, 1),
    items_per_s: c.items ? round((c.items * 1000) / tsMs, 1) : null,
    threads,
    rounds: ts.rounds.length,
    steps: ts.all.length,
  };
}

/** "1.012 [0.991, 1.034]" */
export function fmtInterval(r: Pick<BenchResult, "ratio" | "ratio_lo" | "ratio_hi">): string {
  if (r.ratio === null) return "—";
  return r.ratio_lo === null ? String(r.ratio) : `${r.ratio} [${r.ratio_lo}, ${r.ratio_hi}]`;
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
