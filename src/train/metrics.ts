// A run's metrics.jsonl: one JSON record per line with a `type` (loop.ts lists them). Written by the training loop;
// read back by resuming (the cut to the checkpoint's step), the report and the tools.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** One line of a run's metrics.jsonl (see loop.ts for the record types). */
export interface MetricRecord {
  type: string;
  step: number;
  [k: string]: unknown;
}

/**
 * A run's metrics.jsonl, skipping lines that do not parse: the torn last line of a run that is still writing,
 * or of one killed mid-write (training cuts it away when it resumes).
 */
export function readMetrics(dir: string): MetricRecord[] {
  const path = join(dir, "metrics.jsonl");
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as MetricRecord];
      } catch {
        return [];
      }
    });
}
