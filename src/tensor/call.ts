// Dispatch helpers that the generated operators (ops.gen.ts) call: resolve an ATen schema once, call it through
// the addon's one boxed entry point, and convert handles ↔ tensors. They live apart from the Tensor class so that
// neither this file nor ops.gen.ts imports tensor.ts, whose methods are the generated operators (that would be an
// import cycle): tensor.ts registers its class here, the constructor when it loads (`setTensorFactory`) and the
// type by declaration merging (`TensorClass`), so the operators name the class through this file.
import type { Handle } from "../native/binding.js";
import { native } from "../native/load.js";
import { type DType, dtypeCode } from "./dtype.js";
import { TorchError } from "../errors.js";

/** Filled in by tensor.ts (`declare module "./call.js"`) with `{ tensor: Tensor }`. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface TensorClass {}
/** The Tensor class as the generated operators see it. */
export type Tensor = TensorClass extends { tensor: infer T extends { readonly handle: Handle } } ? T : never;

const opIds: number[] = [];

/** Sees every operator call's schema name, arguments (handles as passed) and result. */
export type OpObserver = (name: string, args: readonly unknown[], result: unknown) => void;
let observer: OpObserver | null = null;

/** Installs (or, with null, removes) the one observer: the bench counts FLOPs of a step with it. */
export function observeOps(fn: OpObserver | null): void {
  observer = fn;
}

/** Calls an ATen operator; `index` is the generated op's slot, so each schema is resolved once. */
export function callOp(index: number, name: string, overload: string, args: unknown[]): unknown {
  let id = opIds[index];
  if (id === undefined) id = opIds[index] = native.resolveOp(name, overload);
  let result: unknown;
  try {
    result = native.call(id, args);
  } catch (err) {
    throw new TorchError((err as Error).message);
  }
  observer?.(name, args, result);
  return result;
}

let makeTensor: ((h: Handle) => Tensor) | undefined;

/** Called once by tensor.ts, which defines the class (importing it here would make a cycle). */
export function setTensorFactory(make: (h: Handle) => Tensor): void {
  makeTensor = make;
}

/** A new Tensor owning `h` (registered with the current tidy() scope). */
export function wrap(h: Handle): Tensor {
  if (!makeTensor) throw new Error("lastframe bug: tensor.ts has not been loaded before call.ts was used");
  return makeTensor(h);
}
export function handles(ts: readonly Tensor[]): Handle[] {
  return ts.map((t) => t.handle);
}
export function optHandle(t: Tensor | null | undefined): Handle | null {
  return t ? t.handle : null;
}
export function optHandles(ts: readonly (Tensor | null)[]): (Handle | null)[] {
  return ts.map(optHandle);
}
export function optDtype(d: DType | null | undefined): number | null {
  return d ? dtypeCode(d) : null;
}
