// What the kernel says of another process, for telling a live trainer from a dead one.
import { existsSync, readFileSync } from "node:fs";

/**
 * The state letter of process `pid` in /proc (R running, S sleeping, T stopped, Z zombie: dead but not yet
 * reaped), "gone" when there is no such process, or undefined where there is no /proc (macOS).
 */
export function processState(pid: number): string | undefined {
  if (!existsSync("/proc/self/stat")) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name in parentheses may hold spaces: the state follows its closing parenthesis.
    return stat[stat.lastIndexOf(")") + 2];
  } catch {
    return "gone";
  }
}
