// lastframe's error family. Each names the value, argument, file or operator that is wrong, so a CLI can print
// the message alone (no stack trace) for user mistakes.

/** A bad argument to a public function: `Expected positive integer for width but received -1 (number)`. */
export class ArgumentError extends Error {
  override name = "ArgumentError";
}

/** An error raised inside libtorch, carrying the operator's name. */
export class TorchError extends Error {
  override name = "TorchError";
}

/** A checkpoint or weights file that is missing, truncated, tampered or does not match the model. */
export class CheckpointError extends Error {
  override name = "CheckpointError";
}

/** Input data that cannot be read: a missing path, a corrupt image, a bad idx header. */
export class DataError extends Error {
  override name = "DataError";
}

/** A file that cannot be written for want of room: a full disk, a quota, a file size limit. */
export class StorageError extends Error {
  override name = "StorageError";
}

function describe(value: unknown): string {
  if (typeof value === "string") return `${JSON.stringify(value)} (string)`;
  if (Array.isArray(value)) return `[${value.map((v) => String(v)).join(", ")}] (array)`;
  if (value === null) return "null";
  return `${String(value)} (${typeof value})`;
}

/** The one message template for bad arguments. */
export function expected(what: string, name: string, value: unknown): ArgumentError {
  return new ArgumentError(`Expected ${what} for ${name} but received ${describe(value)}`);
}

/** Lazy check for hot paths: the message is built only on failure. */
export function check(cond: boolean, message: () => string): asserts cond {
  if (!cond) throw new ArgumentError(message());
}

export function isPositiveInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v > 0;
}

export function isNonNegativeInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}
