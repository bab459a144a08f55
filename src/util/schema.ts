// Validating plain data (configs, a checkpoint's state.json) against a zod schema, with lastframe's one message
// template instead of zod's: `Expected <what> for <key> but received <value> (<type>)`, or `Unknown setting <key>.
// Valid: …`. Only the first problem is reported (an unknown key before the others), as one line naming the key, and
// the file when the data came from one.
//
// The value is returned as it was given, typed by the schema: schemas used here only check (no defaults, no
// transforms), so what is hashed or written back stays exactly what was read.
import * as z from "zod";
import { ArgumentError, expected } from "../errors.js";

/** Names zod's expected types as the hand-written checks did (`typeof` of the default). */
function typeName(type: string): string {
  if (type === "record" || type === "object") return "an object";
  if (type === "array") return "an array";
  return type;
}

// Messages of the checks that set none: a wrong type names the type; an unknown key lists the valid ones
// (composed with the key's full path below, which zod knows only once the issue is final).
const VALID = "\0valid:";
const messages: z.core.$ZodErrorMap = (iss) => {
  if (iss.code === "invalid_type") return typeName(iss.expected);
  if (iss.code === "invalid_format") return `a ${iss.format} string`;
  if (iss.code === "unrecognized_keys") {
    const shape = (iss.inst as { shape?: object } | undefined)?.shape;
    return shape ? `${VALID}${Object.keys(shape).join(", ")}` : undefined;
  }
  return undefined;
};

function at(value: unknown, path: PropertyKey[]): unknown {
  let v = value;
  for (const k of path)
    v = typeof v === "object" && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

export interface CheckOptions {
  /** Where the data came from (`config file runs/a/config.json`): named in the message. */
  label?: string;
  /** The error class to throw (default ArgumentError). */
  error?: new (message: string) => Error;
}

/** `value` checked against `schema` (first problem → one-line error), typed as the schema's output. */
export function checked<S extends z.ZodType>(
  schema: S,
  value: unknown,
  opts: CheckOptions = {},
): z.output<S> {
  const result = schema.safeParse(value, { error: messages });
  if (result.success) return value as z.output<S>;
  const issues = result.error.issues;
  const issue = issues.find((i) => i.code === "unrecognized_keys") ?? issues[0]!;
  const path = issue.path.map(String);
  let message: string;
  if (issue.code === "unrecognized_keys") {
    const valid = issue.message.startsWith(VALID) ? issue.message.slice(VALID.length) : "";
    const key = issue.keys[0]!;
    message =
      path.length === 0
        ? `Unknown key ${JSON.stringify(key)}${opts.label ? ` in ${opts.label}` : ""}. Valid keys: ${valid}`
        : `Unknown setting ${[...path, key].join(".")}. Valid: ${valid}`;
  } else {
    const got = at(value, issue.path);
    const key = path.join(".") || "the value";
    message =
      got === undefined ? `Missing ${key} (${issue.message})` : expected(issue.message, key, got).message;
  }
  const full = opts.label && !message.includes(opts.label) ? `${opts.label}: ${message}` : message;
  throw new (opts.error ?? ArgumentError)(full);
}
