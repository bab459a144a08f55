// One trainer at a time in a run folder: two processes writing the same checkpoints and metrics.jsonl would
// interleave them into a run that neither of them trained (easy to do with `experiment --jobs` beside a second
// terminal). The lock file names its process; a lock whose process is gone (killed, even with -9) is stale and
// taken over, so an interrupted run always resumes.
//
// Every change is atomic, so that processes racing for one folder leave exactly one holder:
// - a lock file is written aside and hard-linked into place (link fails if the name exists), so it never exists
//   empty or half-written;
// - a stale lock is replaced (a rename over it) only by the process that first creates its takeover guard,
//   lock.takeover-<hash of the stale text>-0. Nothing else changes a lock that holds that text, so the guard's
//   holder re-reads the lock and replaces it only if the text is still there. A guard whose process died is
//   passed over for the next one (-1, -2, …);
// - each lock holds a random token, so that a stale text never comes back and releasing removes only the
//   releasing process's own lock.
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { ArgumentError } from "../errors.js";
import { writeSynced } from "../util/atomic.js";
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

/** A file's text, or null if it is gone. */
function readIfThere(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** Writes `text` beside `path` under a unique name, for a link or rename into place. */
function aside(path: string, text: string): string {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeSynced(tmp, text);
  return tmp;
}

/** Creates `path` holding `text` whole; false if it exists. */
function create(path: string, text: string): boolean {
  const tmp = aside(path, text);
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
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
  const mine = `${process.pid} ${host} ${randomBytes(8).toString("hex")}\n`;

  /** Throws if `text` (of the lock or of a guard) names a process that may still run. */
  const refuseIfHeld = (text: string) => {
    const [pid, owner] = text.trim().split(" ");
    // An empty or garbled lock (a full disk, an editor) names no process: nobody holds it.
    if (!pid || !/^[1-9]\d*$/.test(pid) || !owner) return;
    if (owner !== host)
      throw new ArgumentError(
        `${dir} is locked by process ${pid} on ${owner}; if no run is going on there, remove ${path}`,
      );
    if (alive(Number(pid)))
      throw new ArgumentError(
        `${dir} is in use: process ${pid} is training this run (if it is not, remove ${path})`,
      );
  };

  /** Replaces the stale lock `stale` with ours; false if it changed meanwhile (then look again). */
  const takeOver = (stale: string): boolean => {
    const id = createHash("sha256").update(stale).digest("hex").slice(0, 16);
    const guard = (k: number) => `${path}.takeover-${id}-${k}`;
    for (let k = 0; ; k++) {
      if (create(guard(k), mine)) {
        try {
          if (readIfThere(path) !== stale) return false;
          renameSync(aside(path, mine), path);
          return true;
        } finally {
          // The lock no longer holds `stale` (or this takeover failed): the guards have done their work, and
          // anyone who creates one again re-reads a changed lock.
          for (let j = 0; j <= k; j++) rmSync(guard(j), { force: true });
        }
      }
      const holder = readIfThere(guard(k));
      // Its takeover is over: look at the lock again.
      if (holder === null) return false;
      refuseIfHeld(holder);
    }
  };

  for (;;) {
    if (create(path, mine)) break;
    const text = readIfThere(path);
    if (text === null) continue;
    refuseIfHeld(text);
    if (takeOver(text)) break;
  }
  return () => {
    // Only a lock whose holder is gone is ever replaced, so one that still holds our text is ours.
    if (readIfThere(path) === mine) rmSync(path, { force: true });
    if (made && readdirSync(dir).length === 0) rmdirSync(dir);
  };
}
