// Times bench cases through lastframe and their PyTorch twins side by side. This machine's speed drifts by
// ±30% from minute to minute, so the two sides alternate in short rounds and only their ratio is trusted.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface, type Interface } from "node:readline";
import { resolve } from "node:path";
import { packageRoot } from "../native/load.js";
import { getNumThreads, manualSeed } from "../tensor/index.js";
import type { BenchCase } from "./cases.js";

export interface BenchOptions {
  rounds: number;
  stepsPerRound: number;
  warmup: number;
  /** Python with torch (Debian's python3-torch); null skips the PyTorch side. */
  python: string | null;
  /**
   * "same": PyTorch runs with the glibc allocator settings lastframe's addon applies (native/addon.cc
   * tuneAllocator), so the ratio compares the libraries, not the allocators; "stock": PyTorch as installed.
   */
  torchAllocator: "same" | "stock";
}

export const benchDefaults: BenchOptions = {
  rounds: 6,
  stepsPerRound: 4,
  warmup: 3,
  python: process.env.LASTFRAME_TORCH_PYTHON ?? "/usr/bin/python3",
  torchAllocator: "same",
};

/** glibc's environment spelling of the mallopt calls in native/addon.cc. */
const SAME_ALLOCATOR = {
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(1 << 30),
};

export interface BenchResult {
  name: string;
  description: string;
  ts_ms: number;
  torch_ms: number | null;
  ratio: number | null;
  gflops: number | null;
  items_per_s: number | null;
  threads: number;
  steps: number;
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

export async function runBench(
  cases: BenchCase[],
  opts: BenchOptions,
  log: (s: string) => void = () => {},
): Promise<BenchResult[]> {
  const threads = getNumThreads();
  const tuned = opts.torchAllocator === "same" && process.env.LASTFRAME_MALLOC !== "default";
  const worker =
    opts.python && cases.some((c) => c.twin)
      ? new TorchWorker(opts.python, tuned ? SAME_ALLOCATOR : {})
      : null;
  const results: BenchResult[] = [];
  try {
    for (const c of cases) {
      log(`bench ${c.name}: ${c.description}`);
      manualSeed(0);
      const runner = c.setup();
      const twin = worker && c.twin ? c.twin : null;
      if (twin)
        await worker!.request({ op: "setup", case: twin.case, args: twin.args ?? {}, threads, seed: 0 });
      const warmup = c.repeat?.warmup ?? opts.warmup;
      const rounds = c.repeat?.rounds ?? opts.rounds;
      const steps = c.repeat?.steps ?? opts.stepsPerRound;
      timeSteps(runner.step, warmup);
      if (twin) await worker!.request({ op: "run", steps: warmup });
      const ts: number[] = [];
      const py: number[] = [];
      for (let r = 0; r < rounds; r++) {
        ts.push(...timeSteps(runner.step, steps));
        if (twin) py.push(...((await worker!.request({ op: "run", steps })).ms as number[]));
      }
      runner.dispose();
      const tsMs = median(ts);
      const torchMs = twin ? median(py) : null;
      results.push({
        name: c.name,
        description: c.description,
        ts_ms: round(tsMs),
        torch_ms: torchMs === null ? null : round(torchMs),
        ratio: torchMs === null ? null : round(tsMs / torchMs, 3),
        gflops: c.flops ? round(c.flops / (tsMs * 1e6), 2) : null,
        items_per_s: c.items ? round((c.items * 1000) / tsMs, 1) : null,
        threads,
        steps: ts.length,
      });
    }
  } finally {
    worker?.close();
  }
  return results;
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
