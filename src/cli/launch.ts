// `lastframe train --nproc N [--nnodes M --node-rank R --master-addr HOST --master-port P]`: this node's ranks as
// child processes of the same command, with torchrun's environment variables (dist/env.ts reads them) and an
// equal share of the threads. The launcher trains nothing itself; it watches its ranks: a rank killed by a signal
// is named here (the others fail their next collective, or time out, and exit non-zero); Ctrl-C stops them all;
// ranks still running a timeout after the first failure are killed.
import { type ChildProcess, spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { UsageError, flagName } from "./args.js";

export interface Launch {
  /** The command line of a rank: the train flags without the launch flags. */
  argv: string[];
  nproc: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  /** Seconds a collective waits (the ranks' --dist-timeout): how long ranks may take to notice a lost one. */
  timeoutS: number;
}

/** The flags only the launcher reads (train.ts declares them). */
export const launchKeys = ["nproc", "nnodes", "nodeRank", "masterAddr", "masterPort"] as const;
const launchFlagNames: string[] = launchKeys.map((k) => flagName(k).slice(2));

/** argv without the launch flags (`--flag value` or `--flag=value`): what each rank runs. */
export function withoutLaunchFlags(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const m = /^--?([a-z-]+)(=.*)?$/.exec(argv[i]!);
    if (m && launchFlagNames.includes(m[1]!)) {
      if (m[2] === undefined) i++;
      continue;
    }
    out.push(argv[i]!);
  }
  return out;
}

/** Checks the launch flags before any rank starts (one line naming the flag). */
export function checkLaunch(l: Launch): void {
  if (l.nproc < 1) throw new UsageError(`--nproc ${l.nproc}: expected at least 1 rank per node`);
  if (l.nnodes < 1) throw new UsageError(`--nnodes ${l.nnodes}: expected at least 1 node`);
  if (l.nodeRank < 0 || l.nodeRank >= l.nnodes)
    throw new UsageError(
      `--node-rank ${l.nodeRank}: must be in [0, ${l.nnodes - 1}] for --nnodes ${l.nnodes}`,
    );
  if (l.masterPort < 1 || l.masterPort > 65535)
    throw new UsageError(`--master-port ${l.masterPort}: expected a port in [1, 65535]`);
}

/** Threads per rank: this node's share (LASTFRAME_THREADS, default all cores) split evenly, at least one. */
function threadsPerRank(nproc: number): number {
  const total = Number(process.env.LASTFRAME_THREADS) || availableParallelism();
  return Math.max(1, Math.floor(total / nproc));
}

/** Starts this node's ranks and waits for them; the exit code is 0 only if every rank finished. */
export function launchRanks(l: Launch): Promise<number> {
  const world = l.nproc * l.nnodes;
  const threads = String(threadsPerRank(l.nproc));
  const ranks: ChildProcess[] = [];
  for (let local = 0; local < l.nproc; local++) {
    const rank = l.nodeRank * l.nproc + local;
    ranks.push(
      spawn(process.execPath, [process.argv[1]!, "train", ...l.argv], {
        // The IPC channel lets a rank notice that its launcher is gone (and stop) even after kill -9.
        stdio: ["inherit", "inherit", "inherit", "ipc"],
        env: {
          ...process.env,
          ...{ WORLD_SIZE: String(world), RANK: String(rank), LOCAL_RANK: String(local) },
          ...{ MASTER_ADDR: l.masterAddr, MASTER_PORT: String(l.masterPort), LASTFRAME_THREADS: threads },
          // c10d logs a failed connection through glog as well; the rank's own one-line error says the same.
          GLOG_minloglevel: process.env.GLOG_minloglevel ?? "3",
        },
      }),
    );
  }
  return new Promise((resolve) => {
    let running = ranks.length;
    let code = 0;
    let killTimer: NodeJS.Timeout | null = null;
    const stopAll = (signal: NodeJS.Signals) => {
      for (const r of ranks) if (r.exitCode === null && r.signalCode === null) r.kill(signal);
    };
    const interrupt = (signal: NodeJS.Signals) => {
      if (code !== 130) console.error(`lastframe train: ${signal}; stopping every rank`);
      code = 130;
      stopAll(signal);
    };
    process.on("SIGINT", interrupt);
    process.on("SIGTERM", interrupt);
    ranks.forEach((r, local) =>
      r.on("exit", (exitCode, signal) => {
        const rank = l.nodeRank * l.nproc + local;
        if ((exitCode !== 0 || signal) && code === 0) {
          code = exitCode && exitCode > 0 ? exitCode : 1;
          if (signal)
            console.error(
              `lastframe train: rank ${rank} was killed (${signal}); the other ranks stop within --dist-timeout (${l.timeoutS} s)`,
            );
          // The others fail their next collective on their own; this bounds a rank stuck outside one.
          killTimer = setTimeout(() => stopAll("SIGKILL"), (l.timeoutS + 10) * 1000);
          killTimer.unref();
        }
        if (--running > 0) return;
        if (killTimer) clearTimeout(killTimer);
        process.off("SIGINT", interrupt);
        process.off("SIGTERM", interrupt);
        resolve(code);
      }),
    );
  });
}
