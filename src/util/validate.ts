/**
 * Small argument-validation helpers for plain-data inputs (reports, image grids, GIFs).
 *
 * Error messages follow one pattern so that they are easy to read and to pin in tests:
 * `Expected <what> for <name> but received <value> (<type>)`. They throw ArgumentError, the error of a user
 * mistake, which the CLI prints as one line (exit 2).
 */
import { ArgumentError } from "../errors.js";

/** Short, human readable rendering of an arbitrary value for an error message. */
function describeValue(value: unknown): string {
  if (value === null) return "null (null)";
  if (value === undefined) return "undefined (undefined)";
  switch (typeof value) {
    case "string":
      return `${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)} (string)`;
    case "number":
    case "boolean":
    case "bigint":
      return `${String(value)} (${typeof value})`;
    case "function":
      return "a function (function)";
    case "symbol":
      return `${String(value)} (symbol)`;
    default: {
      if (Array.isArray(value)) return `an array of length ${value.length} (object)`;
      if (ArrayBuffer.isView(value)) {
        const name = value.constructor.name;
        const len = (value as unknown as { length?: number }).length ?? value.byteLength;
        return `a ${name} of length ${len} (object)`;
      }
      const ctor = (value as object).constructor;
      const name = ctor && ctor !== Object ? `a ${ctor.name}` : "an object";
      return `${name} (object)`;
    }
  }
}

export function fail(what: string, name: string, value: unknown): never {
  throw new ArgumentError(`Expected ${what} for ${name} but received ${describeValue(value)}`);
}

export function positiveInt(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0)
    fail("positive integer", name, value);
  return value;
}

export function nonNegativeInt(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0)
    fail("non-negative integer", name, value);
  return value;
}

export function positiveNumber(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0)
    fail("positive finite number", name, value);
  return value;
}

export function nonNegativeNumber(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
    fail("non-negative finite number", name, value);
  return value;
}

export function byteValue(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 255)
    fail("integer in [0, 255]", name, value);
  return value;
}

export function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== "string" || value.length === 0) fail("non-empty string", name, value);
  return value;
}
