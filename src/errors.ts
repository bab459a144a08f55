// lastframe's error family, outside the tensor layer so that every layer can use it (it imports nothing). Each
// names the value, argument, file or operator that is wrong, so a CLI can print the message alone (no stack trace)
// for user mistakes.

/**
 * A mistake of the user's, not a bug: a bad argument or flag, or a file or data set that cannot be used. The CLI
 * prints its message alone (one line, no stack) and exits 2; anything else that escapes is a bug and shows its stack.
 */
export class UserError extends Error {
  override name = "UserError";
}

/** A bad argument to a public function: `Expected positive integer for width but received -1 (number)`. */
export class ArgumentError extends UserError {
  override name = "ArgumentError";
}

/** An error raised inside libtorch, carrying the operator's name. */
export class TorchError extends Error {
  override name = "TorchError";
}

/** A checkpoint or weights file that is missing, truncated, tampered or does not match the model. */
export class CheckpointError extends UserError {
  override name = "CheckpointError";
}

/** Input data that cannot be read: a missing path, a corrupt image, a bad idx header. */
export class DataError extends UserError {
  override name = "DataError";
}

/** A file that cannot be written for want of room: a full disk, a quota, a file size limit. */
export class StorageError extends Error {
  override name = "StorageError";
}

function describe(value: unknown): string {
  if (typeof value === "string") return `${JSON.stringify(value)} (string)`;
  if (Array.isArray(value))
    // Nested arrays are not spelled out: String() of one nested 100,000 deep (from a file) overflows the stack.
    return value.every((v) => v === null || typeof v !== "object")
      ? `[${value.map((v) => String(v)).join(", ")}] (array)`
      : `an array of ${value.length} (array)`;
  if (value === null) return "null";
  return `${String(value)} (${typeof value})`;
}

/**
 * A value read from an untrusted file, shown briefly in an error: JSON for scalars and flat arrays (cut at 80
 * characters, so a huge field cannot flood the message), else its kind.
 */
export function describeData(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "bigint") return String(value);
  if (value instanceof Map) return "a dict";
  if (Array.isArray(value) && value.some((v) => v !== null && typeof v === "object")) return "an array";
  if (value !== null && typeof value === "object" && !Array.isArray(value)) return "an object";
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A message from elsewhere (libvips, V8's JSON parser) made one line, as the CLI prints errors. */
export function oneLine(message: string): string {
  return message
    .trim()
    .split(/\s*\n\s*/)
    .join("; ");
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
