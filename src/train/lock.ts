// One trainer at a time in a run folder: two processes writing the same checkpoints and metrics.jsonl would
// interleave them into a run that neither of them trained (easy to do with `experiment --jobs` beside a second
// terminal). The lock file names its process; a lock whose process is gone (killed, even with -9) is stale and
// taken over, so an interrupted run always resumes.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { ArgumentError } from "../tensor/errors.js";
import { processState } from "../util/process.js";

/**
 * Whether process `pid` still runs. A zombie does not: a trainer killed in a container whose init does not reap
 * orphans lingers as one, and must not hold its run folder forever.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  return processState(pid) !== "Z";
}

/**
 * Takes `<dir>/lock` (making `dir` if needed) or throws naming the process that holds it. The returned function
 * releases it, and removes `dir` again if it made it and the lock was all it held (a run refused before it wrote
 * anything leaves nothing behind).
 */
export function lockRunFolder(dir: string): () => void {
  const made = !existsSync(dir);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "lock");
  const host = hostname();
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, `${process.pid} ${host}\n`, { flag: "wx" });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw err;
    }
    const [pid, owner] = readFileSync(path, "utf8").trim().split(" ");
    if (owner !== host)
      throw new ArgumentError(
        `${dir} is locked by process ${pid} on ${owner}; if no run is going on there, remove ${path}`,
      );
    if (alive(Number(pid)))
      throw new ArgumentError(
        `${dir} is in use: process ${pid} is training this run (if it is not, remove ${path})`,
      );
    rmSync(path, { force: true });
  }
  return () => {
    rmSync(path, { force: true });
    if (made && readdirSync(dir).length === 0) rmdirSync(dir);
  };
}
