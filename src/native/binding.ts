// The typed surface of native/addon.cc. Handles are opaque: only src/tensor touches them.

export type Handle = { readonly __handle: unique symbol };

export interface Binding {
  resolveOp(name: string, overload: string): number;
  schema(id: number): string;
  call(id: number, args: unknown[]): unknown;
  fromBuffer(data: ArrayBufferView, shape: readonly number[], dtype: number, device: string): Handle;
  toBuffer(h: Handle): ArrayBuffer;
  /** [dtypeCode, requiresGrad, device, ...shape] */
  info(h: Handle): [number, boolean, string, ...number[]];
  dispose(h: Handle): void;
  isDisposed(h: Handle): boolean;
  /** Reports the tensor's storage to V8 as external memory, once, so the GC feels a leaked tensor's size. */
  external(h: Handle): void;
  liveTensors(): number;
  /** Bytes currently reported through external(). */
  externalBytes(): number;
  setRequiresGrad(h: Handle, on: boolean): void;
  backward(h: Handle, grad: Handle | null, retainGraph: boolean): void;
  grad(h: Handle): Handle | null;
  setGrad(h: Handle, g: Handle | null): void;
  setGradEnabled(on: boolean): void;
  isGradEnabled(): boolean;
  manualSeed(seed: number): void;
  getRngState(): Handle;
  setRngState(h: Handle): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cudaAvailable(): boolean;
  version(): string;
  /** A Gloo process group over a TCPStore on host:port (rank 0 serves it); native/dist.cc. */
  distInit(host: string, port: number, rank: number, worldSize: number, timeoutMs: number): GroupHandle;
  /** In-place sum over ranks of every tensor, coalesced into one Gloo collective. */
  distAllreduce(g: GroupHandle, tensors: Handle[]): void;
  distBroadcast(g: GroupHandle, tensors: Handle[], root: number): void;
  distBarrier(g: GroupHandle): void;
  distDestroy(g: GroupHandle): void;
}

export type GroupHandle = { readonly __group: unique symbol };
