// Reading a run's eval.json back (the report, `lastframe serve`): checked against a schema of the fields that
// readers use, so an edited or foreign file fails with one line naming the file and key instead of showing as
// missing numbers. Other keys (timings, env, per-frame distances, fields added later) pass through unchecked.
import { readFileSync } from "node:fs";
import * as z from "zod";
import { DataError } from "../errors.js";
import { checked } from "../util/schema.js";

const count = z.number().refine((v) => Number.isInteger(v) && v >= 0, "a non-negative integer");

const evalFileSchema = z.looseObject({
  n: count.optional(),
  refN: count.optional(),
  fd: z.number().optional(),
  kid: z.looseObject({ mean: z.number().optional(), std: z.number().optional() }).optional(),
  pr: z.looseObject({ precision: z.number().optional(), recall: z.number().optional() }).optional(),
  // Bits/dim statistics (train/data.ts EvalStats): numbers, and per-frame lists such as frame_bpd.
  bpd: z.record(z.string(), z.union([z.number(), z.array(z.number())])).optional(),
});
export type EvalFile = z.infer<typeof evalFileSchema>;

/** An eval.json written by `lastframe eval`, checked: a DataError names the file and the key. */
export function readEvalFile(path: string): EvalFile {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(
      code ? `cannot read ${path}: ${code}` : `${path} is not valid JSON (truncated or edited?)`,
    );
  }
  return checked(evalFileSchema, v, { label: path, error: DataError });
}
