// The Tensor class: an owned libtorch tensor handle with a typed, PyTorch-shaped method API.
// Raw operators live in ops.gen.ts (generated, schema order); this file gives them friendly names, options
// objects and broadcasting over numbers. Every method returns a new tensor registered with the current tidy()
// scope, except the in-place methods (trailing `_`), which return `this`.
import type { Handle } from "../native/binding.js";
import { native } from "../native/load.js";
import { setTensorFactory } from "./call.js";
import { type DType, type TypedArray, arrayTypeOf, dtypeOf } from "./dtype.js";
import { ArgumentError, TorchError, check } from "../errors.js";
import * as ops from "./ops.gen.js";
import { track } from "./scope.js";

export type Shape = readonly number[];
export type TensorLike = Tensor | number;

const REDUCTION = { none: 0, mean: 1, sum: 2 } as const;
export type Reduction = keyof typeof REDUCTION;
export function reductionCode(r: Reduction): number {
  const code = REDUCTION[r];
  if (code === undefined)
    throw new ArgumentError(`Expected one of none, mean, sum for reduction but received ${r}`);
  return code;
}

// ***** the Tensor class *****

export class Tensor {
  #h: Handle | null;
  #shape: number[] | null = null;
  #dtype: DType | null = null;

  constructor(h: Handle) {
    this.#h = h;
    track(this);
  }

  /** The native handle; throws once disposed. */
  get handle(): Handle {
    if (this.#h === null) throw new TorchError("Tensor is disposed");
    return this.#h;
  }

  /** Reports the storage to V8 (scope.ts calls this for tensors no scope will free). */
  unscoped(): void {
    if (this.#h !== null) native.external(this.#h);
  }

  dispose(): void {
    if (this.#h !== null) {
      native.dispose(this.#h);
      this.#h = null;
    }
  }
  get isDisposed(): boolean {
    return this.#h === null;
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  #info(): void {
    const [code, , , ...shape] = native.info(this.handle);
    this.#dtype = dtypeOf(code);
    this.#shape = shape as number[];
  }
  get shape(): number[] {
    if (this.#shape === null) this.#info();
    return this.#shape!.slice();
  }
  get dtype(): DType {
    if (this.#dtype === null) this.#info();
    return this.#dtype!;
  }
  get device(): string {
    return native.info(this.handle)[2];
  }
  get rank(): number {
    if (this.#shape === null) this.#info();
    return this.#shape!.length;
  }
  get numel(): number {
    if (this.#shape === null) this.#info();
    return this.#shape!.reduce((a, b) => a * b, 1);
  }
  /** Size of one dimension; negative dims count from the end. */
  size(dim: number): number {
    const s = this.shape;
    const d = dim < 0 ? dim + s.length : dim;
    check(d >= 0 && d < s.length, () => `size: dim ${dim} out of range for rank ${s.length}`);
    return s[d]!;
  }

  // ***** data out *****

  /** A copy of the elements, row-major, in the dtype's typed array. */
  data(): TypedArray {
    const buf = native.toBuffer(this.handle);
    const Ctor = arrayTypeOf(this.dtype);
    return new Ctor(buf);
  }
  /** The elements as plain numbers (int64 converted). */
  toArray(): number[] {
    return Array.from(this.data() as ArrayLike<number | bigint>, Number);
  }
  item(): number {
    check(this.numel === 1, () => `item: expected a tensor with one element but shape is [${this.shape}]`);
    return ops.item(this);
  }
  toString(): string {
    return this.isDisposed ? "Tensor(disposed)" : `Tensor(shape=[${this.shape}], dtype=${this.dtype})`;
  }

  // ***** autograd *****

  get requiresGrad(): boolean {
    return native.info(this.handle)[1];
  }
  set requiresGrad(on: boolean) {
    native.setRequiresGrad(this.handle, on);
  }
  requiresGrad_(on = true): this {
    native.setRequiresGrad(this.handle, on);
    return this;
  }
  /** The accumulated gradient as a new handle (dispose it, or read it inside tidy), or null. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : new Tensor(g);
  }
  set grad(g: Tensor | null) {
    native.setGrad(this.handle, g ? g.handle : null);
  }
  backward(grad?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    try {
      native.backward(this.handle, grad ? grad.handle : null, opts.retainGraph ?? false);
    } catch (err) {
      throw new TorchError((err as Error).message);
    }
  }
  detach(): Tensor {
    return ops.detach(this);
  }

  // ***** arithmetic (broadcasting; numbers are scalars) *****

  add(o: TensorLike, alpha = 1): Tensor {
    return typeof o === "number" ? ops.addScalar(this, o, alpha) : ops.addTensor(this, o, alpha);
  }
  sub(o: TensorLike, alpha = 1): Tensor {
    return typeof o === "number" ? ops.subScalar(this, o, alpha) : ops.subTensor(this, o, alpha);
  }
  mul(o: TensorLike): Tensor {
    return typeof o === "number" ? ops.mulScalar(this, o) : ops.mulTensor(this, o);
  }
  div(o: TensorLike): Tensor {
    return typeof o === "number" ? ops.divScalar(this, o) : ops.divTensor(this, o);
  }
  pow(o: TensorLike): Tensor {
    return typeof o === "number" ? ops.powTensorScalar(this, o) : ops.powTensorTensor(this, o);
  }
  remainder(o: number): Tensor {
    return ops.remainderScalar(this, o);
  }
  floorDiv(o: Tensor): Tensor {
    return ops.divTensorMode(this, o, "floor");
  }
  maximum(o: Tensor): Tensor {
    return ops.maximum(this, o);
  }
  minimum(o: Tensor): Tensor {
    return ops.minimum(this, o);
  }
  clamp(min: number | null, max: number | null = null): Tensor {
    return ops.clamp(this, min, max);
  }
  lerp(end: Tensor, weight: number): Tensor {
    return ops.lerpScalar(this, end, weight);
  }
  neg(): Tensor {
    return ops.neg(this);
  }
  exp(): Tensor {
    return ops.exp(this);
  }
  log(): Tensor {
    return ops.log(this);
  }
  log1p(): Tensor {
    return ops.log1p(this);
  }
  expm1(): Tensor {
    return ops.expm1(this);
  }
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  rsqrt(): Tensor {
    return ops.rsqrt(this);
  }
  abs(): Tensor {
    return ops.abs(this);
  }
  square(): Tensor {
    return ops.square(this);
  }
  sign(): Tensor {
    return ops.sign(this);
  }
  floor(): Tensor {
    return ops.floor(this);
  }
  ceil(): Tensor {
    return ops.ceil(this);
  }
  round(): Tensor {
    return ops.round(this);
  }
  sin(): Tensor {
    return ops.sin(this);
  }
  cos(): Tensor {
    return ops.cos(this);
  }
  reciprocal(): Tensor {
    return ops.reciprocal(this);
  }
  erf(): Tensor {
    return ops.erf(this);
  }

  // ***** activations *****

  relu(): Tensor {
    return ops.relu(this);
  }
  gelu(approximate: "none" | "tanh" = "none"): Tensor {
    return ops.gelu(this, approximate);
  }
  silu(): Tensor {
    return ops.silu(this);
  }
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  tanh(): Tensor {
    return ops.tanh(this);
  }
  logSigmoid(): Tensor {
    return ops.logSigmoid(this);
  }
  softplus(beta = 1, threshold = 20): Tensor {
    return ops.softplus(this, beta, threshold);
  }
  leakyRelu(slope = 0.01): Tensor {
    return ops.leakyRelu(this, slope);
  }
  elu(alpha = 1): Tensor {
    return ops.elu(this, alpha);
  }
  softmax(dim: number): Tensor {
    return ops.softmaxInt(this, dim);
  }
  logSoftmax(dim: number): Tensor {
    return ops.logSoftmaxInt(this, dim);
  }

  // ***** linear algebra *****

  matmul(o: Tensor): Tensor {
    return ops.matmul(this, o);
  }
  mm(o: Tensor): Tensor {
    return ops.mm(this, o);
  }
  bmm(o: Tensor): Tensor {
    return ops.bmm(this, o);
  }
  t(): Tensor {
    return ops.t(this);
  }

  // ***** reductions *****

  /** Sum over all elements, or over `dim` (a number or list). */
  sum(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? ops.sum(this) : ops.sumDimIntList(this, toList(dim), keepdim);
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? ops.mean(this) : ops.meanDim(this, toList(dim), keepdim);
  }
  /** Variance; correction 1 is the unbiased estimate (PyTorch's default). */
  var(dim?: number | number[], opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return ops.varCorrection(
      this,
      dim === undefined ? null : toList(dim),
      opts.correction ?? 1,
      opts.keepdim ?? false,
    );
  }
  std(dim?: number | number[], opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return ops.stdCorrection(
      this,
      dim === undefined ? null : toList(dim),
      opts.correction ?? 1,
      opts.keepdim ?? false,
    );
  }
  prod(): Tensor {
    return ops.prod(this);
  }
  /** Maximum of all elements. */
  max(): Tensor {
    return ops.max(this);
  }
  min(): Tensor {
    return ops.min(this);
  }
  /** [values, indices] of the maximum along dim. */
  maxDim(dim: number, keepdim = false): [Tensor, Tensor] {
    return ops.maxDim(this, dim, keepdim);
  }
  minDim(dim: number, keepdim = false): [Tensor, Tensor] {
    return ops.minDim(this, dim, keepdim);
  }
  amax(dim: number | number[], keepdim = false): Tensor {
    return ops.amax(this, toList(dim), keepdim);
  }
  amin(dim: number | number[], keepdim = false): Tensor {
    return ops.amin(this, toList(dim), keepdim);
  }
  logsumexp(dim: number | number[], keepdim = false): Tensor {
    return ops.logsumexp(this, toList(dim), keepdim);
  }
  cumsum(dim: number): Tensor {
    return ops.cumsum(this, dim);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return ops.argmax(this, dim ?? null, keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return ops.argmin(this, dim ?? null, keepdim);
  }
  topk(k: number, dim = -1, largest = true, sorted = true): [Tensor, Tensor] {
    return ops.topk(this, k, dim, largest, sorted);
  }
  sort(dim = -1, descending = false): [Tensor, Tensor] {
    return ops.sort(this, dim, descending);
  }
  all(): Tensor {
    return ops.all(this);
  }
  any(): Tensor {
    return ops.any(this);
  }
  /** Euclidean (or p-) norm over all elements or `dim`. */
  norm(p = 2, dim?: number | number[], keepdim = false): Tensor {
    return ops.linalgVectorNorm(this, p, dim === undefined ? null : toList(dim), keepdim);
  }

  // ***** shape and movement *****

  reshape(...shape: number[]): Tensor {
    return ops.reshape(this, flat(shape));
  }
  view(...shape: number[]): Tensor {
    return ops.view(this, flat(shape));
  }
  permute(...dims: number[]): Tensor {
    return ops.permute(this, flat(dims));
  }
  transpose(d0: number, d1: number): Tensor {
    return ops.transposeInt(this, d0, d1);
  }
  flatten(start = 0, end = -1): Tensor {
    return ops.flattenUsingInts(this, start, end);
  }
  unflatten(dim: number, sizes: number[]): Tensor {
    return ops.unflattenInt(this, dim, sizes);
  }
  squeeze(dim?: number): Tensor {
    return dim === undefined ? ops.squeeze(this) : ops.squeezeDim(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return ops.unsqueeze(this, dim);
  }
  expand(...shape: number[]): Tensor {
    return ops.expand(this, flat(shape));
  }
  repeat(...reps: number[]): Tensor {
    return ops.repeat(this, flat(reps));
  }
  contiguous(): Tensor {
    return ops.contiguous(this);
  }
  clone(): Tensor {
    return ops.clone(this);
  }
  flip(...dims: number[]): Tensor {
    return ops.flip(this, flat(dims));
  }
  roll(shifts: number | number[], dims: number | number[]): Tensor {
    return ops.roll(this, toList(shifts), toList(dims));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return ops.narrow(this, dim, start, length);
  }
  select(dim: number, index: number): Tensor {
    return ops.selectInt(this, dim, index);
  }
  slice(dim: number, start: number | null, end: number | null, step = 1): Tensor {
    return ops.sliceTensor(this, dim, start, end, step);
  }
  unbind(dim = 0): Tensor[] {
    return ops.unbindInt(this, dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return ops.chunk(this, chunks, dim);
  }
  split(size: number | number[], dim = 0): Tensor[] {
    return typeof size === "number" ? ops.splitTensor(this, size, dim) : ops.splitWithSizes(this, size, dim);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return ops.indexSelect(this, dim, index);
  }
  gather(dim: number, index: Tensor): Tensor {
    return ops.gather(this, dim, index);
  }
  scatter(dim: number, index: Tensor, src: TensorLike): Tensor {
    return typeof src === "number"
      ? ops.scatterValue(this, dim, index, src)
      : ops.scatterSrc(this, dim, index, src);
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return ops.scatterAdd(this, dim, index, src);
  }
  /** Advanced indexing: one index tensor (or null for `:`) per leading dimension. */
  index(indices: (Tensor | null)[]): Tensor {
    return ops.indexTensor(this, indices);
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return ops.maskedFillScalar(this, mask, value);
  }
  tril(diagonal = 0): Tensor {
    return ops.tril(this, diagonal);
  }
  triu(diagonal = 0): Tensor {
    return ops.triu(this, diagonal);
  }
  movedim(from: number, to: number): Tensor {
    return ops.movedimInt(this, from, to);
  }

  // ***** comparisons (bool results) *****

  eq(o: TensorLike): Tensor {
    return typeof o === "number" ? ops.eqScalar(this, o) : ops.eqTensor(this, o);
  }
  ne(o: TensorLike): Tensor {
    return typeof o === "number" ? ops.neScalar(this, o) : ops.neTensor(this, o);
  }
  lt(o: TensorLike): Tensor {
    return typeof o === "number" ? ops.ltScalar(this, o) : ops.ltTensor(this, o);
  }
  le(o: TensorLike): Tensor {
    return typeof o === "number" ? ops.leScalar(this, o) : ops.leTensor(this, o);
  }
  gt(o: TensorLike): Tensor {
    return typeof o === "number" ? ops.gtScalar(this, o) : ops.gtTensor(this, o);
  }
  ge(o: TensorLike): Tensor {
    return typeof o === "number" ? ops.geScalar(this, o) : ops.geTensor(this, o);
  }
  logicalNot(): Tensor {
    return ops.logicalNot(this);
  }
  logicalAnd(o: Tensor): Tensor {
    return ops.logicalAnd(this, o);
  }
  logicalOr(o: Tensor): Tensor {
    return ops.logicalOr(this, o);
  }
  isnan(): Tensor {
    return ops.isnan(this);
  }
  isfinite(): Tensor {
    return ops.isfinite(this);
  }

  // ***** casts *****

  /** A copy in another dtype (or this tensor's data again if the dtype already matches). */
  to(dtype: DType): Tensor {
    return ops.toDtype(this, dtype);
  }
  toDevice(device: string): Tensor {
    checkDevice(device);
    return ops.toDtypeLayout(this, null, null, device);
  }
  float(): Tensor {
    return this.to("float32");
  }
  double(): Tensor {
    return this.to("float64");
  }
  long(): Tensor {
    return this.to("int64");
  }

  // ***** in-place (optimizers, EMA, initialisers) *****

  add_(o: TensorLike, alpha = 1): this {
    inplace(typeof o === "number" ? ops.add_Scalar(this, o, alpha) : ops.add_Tensor(this, o, alpha));
    return this;
  }
  sub_(o: Tensor, alpha = 1): this {
    inplace(ops.sub_Tensor(this, o, alpha));
    return this;
  }
  mul_(o: TensorLike): this {
    inplace(typeof o === "number" ? ops.mul_Scalar(this, o) : ops.mul_Tensor(this, o));
    return this;
  }
  div_(o: TensorLike): this {
    inplace(typeof o === "number" ? ops.div_Scalar(this, o) : ops.div_Tensor(this, o));
    return this;
  }
  /** this += value * t1 * t2 */
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this {
    inplace(ops.addcmul_(this, t1, t2, value));
    return this;
  }
  /** this += value * t1 / t2 */
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this {
    inplace(ops.addcdiv_(this, t1, t2, value));
    return this;
  }
  lerp_(end: Tensor, weight: number): this {
    inplace(ops.lerp_Scalar(this, end, weight));
    return this;
  }
  copy_(src: Tensor): this {
    inplace(ops.copy_(this, src));
    return this;
  }
  zero_(): this {
    inplace(ops.zero_(this));
    return this;
  }
  fill_(v: number): this {
    inplace(ops.fill_Scalar(this, v));
    return this;
  }
  clamp_(min: number | null, max: number | null = null): this {
    inplace(ops.clamp_(this, min, max));
    return this;
  }
  normal_(mean = 0, std = 1): this {
    inplace(ops.normal_(this, mean, std));
    return this;
  }
  uniform_(from = 0, to = 1): this {
    inplace(ops.uniform_(this, from, to));
    return this;
  }
}

// The generated operators make their results through call.ts's wrap(), and name the class through call.ts.
setTensorFactory((h) => new Tensor(h));
// (Inside the block `Tensor` would mean call.ts's alias, hence the second name.)
type TheTensor = Tensor;
declare module "./call.js" {
  interface TensorClass {
    tensor: TheTensor;
  }
}

/** In-place ops return an alias of `self`: drop that extra handle at once. */
function inplace(alias: Tensor): void {
  alias.dispose();
}

function toList(v: number | number[]): number[] {
  return typeof v === "number" ? [v] : v;
}

/** Accepts both `reshape(2, 3)` and `reshape([2, 3])`. */
function flat(args: (number | number[])[]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
}

export function checkDevice(device: string): void {
  if (device === "cpu") return;
  if (/^cuda(:\d+)?$/.test(device)) {
    if (!native.cudaAvailable())
      throw new ArgumentError(
        `Expected device cpu for device but received ${JSON.stringify(device)}: this libtorch was built without CUDA ` +
          "(build the addon against a CUDA libtorch with LIBTORCH=/path/to/libtorch npm run build:native)",
      );
    return;
  }
  throw new ArgumentError(`Expected "cpu" or "cuda[:N]" for device but received ${JSON.stringify(device)}`);
}
