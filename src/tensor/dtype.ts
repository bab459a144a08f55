// Tensor element types. Codes are c10::ScalarType values (native/addon.cc passes them straight to libtorch).
import { ArgumentError } from "../errors.js";

export type DType =
  "uint8" | "int8" | "int16" | "int32" | "int64" | "float16" | "float32" | "float64" | "bool" | "bfloat16";

const codes: Record<DType, number> = {
  uint8: 0,
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
};

const byCode = new Map<number, DType>(Object.entries(codes).map(([k, v]) => [v, k as DType]));

export const dtypes = Object.keys(codes) as DType[];

export function dtypeCode(d: DType): number {
  const c = codes[d];
  if (c === undefined)
    throw new ArgumentError(`Expected one of ${dtypes.join(", ")} for dtype but received ${String(d)}`);
  return c;
}

export function dtypeOf(code: number): DType {
  const d = byCode.get(code);
  // An operator called through `raw` can return a dtype lastframe does not handle (complex, quantized).
  if (!d)
    throw new ArgumentError(
      `Expected a tensor of one of ${dtypes.join(", ")} but received one of libtorch dtype code ${code}`,
    );
  return d;
}

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array;

/** The JS array type that holds a dtype's elements (16-bit floats as raw Uint16 bits, bool as Uint8). */
export function arrayTypeOf(d: DType) {
  switch (d) {
    case "float32":
      return Float32Array;
    case "float64":
      return Float64Array;
    case "int32":
      return Int32Array;
    case "int64":
      return BigInt64Array;
    case "uint8":
    case "bool":
      return Uint8Array;
    case "int8":
      return Int8Array;
    case "int16":
      return Int16Array;
    case "float16":
    case "bfloat16":
      return Uint16Array;
  }
}

/** The natural dtype of a typed array. */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof BigInt64Array) return "int64";
  if (a instanceof Uint8Array) return "uint8";
  if (a instanceof Int8Array) return "int8";
  if (a instanceof Int16Array) return "int16";
  return "float16";
}

export function isFloating(d: DType): boolean {
  return d === "float32" || d === "float64" || d === "float16" || d === "bfloat16";
}

export function byteSize(d: DType): number {
  return arrayTypeOf(d).BYTES_PER_ELEMENT;
}
