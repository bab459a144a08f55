// Functional API: tensor creation, neural-network ops with options objects, and global state (seed, threads,
// grad mode). Argument checks here name the function and the argument; libtorch checks the rest.
import { native } from "../native/load.js";
import { wrap } from "./call.js";
import { type DType, type TypedArray, arrayTypeOf, dtypeCode, dtypeOfArray } from "./dtype.js";
import { ArgumentError, check, expected, isNonNegativeInt } from "../errors.js";
import * as ops from "./ops.gen.js";
import { type Reduction, type Shape, Tensor, checkDevice, reductionCode } from "./tensor.js";

export interface Creation {
  dtype?: DType;
  device?: string;
}

function checkShape(fn: string, shape: Shape): number[] {
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInt))
    throw expected("an array of non-negative integers", `shape in ${fn}`, shape);
  return shape as number[];
}

function creation(fn: string, shape: Shape, opts: Creation): [number[], DType, string] {
  const device = opts.device ?? "cpu";
  checkDevice(device);
  return [checkShape(fn, shape), opts.dtype ?? "float32", device];
}

// ***** creation *****

export function zeros(shape: Shape, opts: Creation = {}): Tensor {
  const [s, d, dev] = creation("zeros", shape, opts);
  return ops.zeros(s, d, null, dev);
}
/** Uninitialised memory: only for tensors that are filled at once (initialisers, copies). */
export function empty(shape: Shape, opts: Creation = {}): Tensor {
  const [s, d, dev] = creation("empty", shape, opts);
  return ops.emptyMemoryFormat(s, d, null, dev);
}
export function ones(shape: Shape, opts: Creation = {}): Tensor {
  const [s, d, dev] = creation("ones", shape, opts);
  return ops.ones(s, d, null, dev);
}
export function full(shape: Shape, value: number, opts: Creation = {}): Tensor {
  const [s, d, dev] = creation("full", shape, opts);
  return ops.full(s, value, d, null, dev);
}
/** Standard normal samples from the global generator (see manualSeed). */
export function randn(shape: Shape, opts: Creation = {}): Tensor {
  const [s, d, dev] = creation("randn", shape, opts);
  return ops.randn(s, d, null, dev);
}
/** Uniform samples in [0, 1). */
export function rand(shape: Shape, opts: Creation = {}): Tensor {
  const [s, d, dev] = creation("rand", shape, opts);
  return ops.rand(s, d, null, dev);
}
/** Uniform integers in [low, high), int64 unless a dtype is given. */
export function randint(low: number, high: number, shape: Shape, opts: Creation = {}): Tensor {
  check(high > low, () => `randint: expected high > low but received low=${low}, high=${high}`);
  const device = opts.device ?? "cpu";
  checkDevice(device);
  return ops.randintLow(low, high, checkShape("randint", shape), opts.dtype ?? "int64", null, device);
}
export function randperm(n: number, opts: Creation = {}): Tensor {
  return ops.randperm(n, opts.dtype ?? "int64", null, opts.device ?? "cpu");
}
/** [start, end) with step; float32 unless all arguments are integers and no dtype is given (then int64). */
export function arange(start: number, end?: number, step = 1, opts: Creation = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  const ints = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  return ops.arangeStartStep(
    start,
    end,
    step,
    opts.dtype ?? (ints ? "int64" : "float32"),
    null,
    opts.device ?? "cpu",
  );
}
export function linspace(start: number, end: number, steps: number, opts: Creation = {}): Tensor {
  return ops.linspace(start, end, steps, opts.dtype ?? "float32", null, opts.device ?? "cpu");
}
export function eye(n: number, opts: Creation = {}): Tensor {
  return ops.eye(n, opts.dtype ?? "float32", null, opts.device ?? "cpu");
}
export function zerosLike(t: Tensor): Tensor {
  return ops.zerosLike(t);
}
export function onesLike(t: Tensor): Tensor {
  return ops.onesLike(t);
}
// ***** a data-parallel rank's share of the noise *****
// A rank of a data-parallel run (train/ddp.ts) trains rows [rank·n, (rank+1)·n) of a global batch of world·n.
// While its shard is set, randnLike draws the noise of the whole global batch and keeps the rank's rows: each
// example gets the noise it gets in one process training the whole batch, and every rank's generator stays where
// that process's is (so a checkpoint's RNG state is every rank's). Rows must be batch-major (example, then
// frame), as the models' (B·T, …) activations are.

/** Which rows of the global batch this rank holds. */
export interface BatchShard {
  rank: number;
  world: number;
}

let shard: BatchShard | null = null;

/** Runs fn with randnLike drawing for the global batch and keeping this rank's rows (null: the whole batch). */
export function withBatchShard<T>(s: BatchShard | null, fn: () => T): T {
  const before = shard;
  shard = s;
  try {
    return fn();
  } finally {
    shard = before;
  }
}

export function randnLike(t: Tensor): Tensor {
  if (!shard || shard.world === 1) return ops.randnLike(t);
  const [n, ...rest] = t.shape as [number, ...number[]];
  const all = randn([n * shard.world, ...rest], { dtype: t.dtype, device: t.device });
  const mine = all.narrow(0, shard.rank * n, n);
  all.dispose();
  return mine;
}
export function randLike(t: Tensor): Tensor {
  return ops.randLike(t);
}
export function fullLike(t: Tensor, value: number): Tensor {
  return ops.fullLike(t, value);
}

/**
 * A tensor from data: a typed array (its natural dtype unless `dtype` is given) or nested/flat numbers
 * (float32 by default). `shape` defaults to the data's length, or the nesting of nested arrays.
 */
export function tensor(
  data: TypedArray | number[] | number[][] | number[][][],
  shape?: Shape,
  opts: Creation = {},
): Tensor {
  let values: TypedArray;
  let inferred: number[];
  if (ArrayBuffer.isView(data)) {
    values = data;
    inferred = [data.length];
  } else {
    inferred = [];
    let level: unknown = data;
    while (Array.isArray(level)) {
      inferred.push(level.length);
      level = level[0];
    }
    const flatValues = (data as unknown[]).flat(Infinity) as number[];
    const dtype = opts.dtype ?? "float32";
    dtypeCode(dtype); // validates the name
    // 16-bit floats are built as float32 and cast by libtorch.
    const Ctor = dtype === "float16" || dtype === "bfloat16" ? Float32Array : arrayTypeOf(dtype);
    values =
      Ctor === BigInt64Array
        ? BigInt64Array.from(flatValues, (v) => BigInt(Math.trunc(v)))
        : (Ctor as Float64ArrayConstructor).from(flatValues);
    return fromTyped(values, shape ?? inferred, { ...opts, dtype });
  }
  return fromTyped(values, shape ?? inferred, opts);
}

/** Copies a typed array into a new tensor of the given shape. */
export function fromTyped(data: TypedArray, shape: Shape, opts: Creation = {}): Tensor {
  const s = checkShape("fromTyped", shape);
  const dtype = opts.dtype ?? dtypeOfArray(data);
  const numel = s.reduce((a, b) => a * b, 1);
  if (data.length !== numel)
    throw new ArgumentError(`fromTyped: data has ${data.length} elements but shape [${s}] needs ${numel}`);
  const device = opts.device ?? "cpu";
  checkDevice(device);
  const natural = dtypeOfArray(data);
  const sameWidth = natural === dtype || (dtype === "bool" && natural === "uint8");
  if (sameWidth) return wrap(native.fromBuffer(data, s, dtypeCode(dtype), device));
  // Different element type: copy in the array's own dtype, then cast in libtorch.
  const raw = wrap(native.fromBuffer(data, s, dtypeCode(natural), device));
  const out = raw.to(dtype);
  raw.dispose();
  return out;
}

export function scalar(value: number, opts: Creation = {}): Tensor {
  return full([], value, opts);
}

// ***** joining and selection *****

export function cat(ts: Tensor[], dim = 0): Tensor {
  check(ts.length > 0, () => "cat: expected a non-empty list of tensors");
  return ops.cat(ts, dim);
}
export function stack(ts: Tensor[], dim = 0): Tensor {
  check(ts.length > 0, () => "stack: expected a non-empty list of tensors");
  return ops.stack(ts, dim);
}
/** Elementwise `cond ? a : b`. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  return ops.whereSelf(cond, a, b);
}
export function einsum(equation: string, ...ts: Tensor[]): Tensor {
  return ops.einsum(equation, ts);
}
export function oneHot(t: Tensor, numClasses: number): Tensor {
  return ops.oneHot(t, numClasses);
}
/** Draws `n` indices per row from (unnormalised) probabilities. */
export function multinomial(probs: Tensor, n: number, replacement = false): Tensor {
  return ops.multinomial(probs, n, replacement);
}
/** Pairwise p-norm distances between rows of a (…, P, M) and b (…, R, M). */
export function cdist(a: Tensor, b: Tensor, p = 2): Tensor {
  return ops.cdist(a, b, p);
}

// ***** neural-network ops *****

export interface ConvOptions {
  stride?: number | number[];
  padding?: number | number[];
  dilation?: number | number[];
  groups?: number;
}

export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return ops.linear(x, weight, bias);
}

export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: ConvOptions = {}): Tensor {
  check(x.rank === 4 || x.rank === 3, () => `conv2d: input must be rank 4 (N, C, H, W), got rank ${x.rank}`);
  return ops.conv2d(x, weight, bias, o.stride ?? 1, o.padding ?? 0, o.dilation ?? 1, o.groups ?? 1);
}

export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  o: ConvOptions & { outputPadding?: number | number[] } = {},
): Tensor {
  check(
    x.rank === 4 || x.rank === 3,
    () => `convTranspose2d: input must be rank 4 (N, C, H, W), got rank ${x.rank}`,
  );
  return ops.convTranspose2dInput(
    x,
    weight,
    bias,
    o.stride ?? 1,
    o.padding ?? 0,
    o.outputPadding ?? 0,
    o.groups ?? 1,
    o.dilation ?? 1,
  );
}

export interface PoolOptions {
  stride?: number | number[];
  padding?: number | number[];
  ceilMode?: boolean;
}

export function avgPool2d(
  x: Tensor,
  kernel: number | number[],
  o: PoolOptions & { countIncludePad?: boolean } = {},
): Tensor {
  return ops.avgPool2d(
    x,
    kernel,
    o.stride ?? kernel,
    o.padding ?? 0,
    o.ceilMode ?? false,
    o.countIncludePad ?? true,
  );
}
export function maxPool2d(
  x: Tensor,
  kernel: number | number[],
  o: PoolOptions & { dilation?: number } = {},
): Tensor {
  return ops.maxPool2d(x, kernel, o.stride ?? kernel, o.padding ?? 0, o.dilation ?? 1, o.ceilMode ?? false);
}
export function adaptiveAvgPool2d(x: Tensor, size: number | [number, number]): Tensor {
  return ops.adaptiveAvgPool2d(x, typeof size === "number" ? [size, size] : size);
}

export interface InterpolateOptions {
  size?: [number, number];
  scaleFactor?: number;
  mode?: "nearest" | "bilinear";
  alignCorners?: boolean;
}

/** Resizes (N, C, H, W) images, like torch.nn.functional.interpolate. */
export function interpolate(x: Tensor, o: InterpolateOptions): Tensor {
  check(x.rank === 4, () => `interpolate: input must be rank 4 (N, C, H, W), got rank ${x.rank}`);
  check(
    (o.size === undefined) !== (o.scaleFactor === undefined),
    () => "interpolate: give exactly one of size and scaleFactor",
  );
  const size = o.size ?? null;
  const scales = o.scaleFactor === undefined ? null : [o.scaleFactor, o.scaleFactor];
  const mode = o.mode ?? "nearest";
  if (mode === "nearest") return ops.upsampleNearest2dVec(x, size, scales);
  if (mode === "bilinear") return ops.upsampleBilinear2dVec(x, size, o.alignCorners ?? false, scales);
  throw expected('"nearest" or "bilinear"', "mode in interpolate", mode);
}

/** Pads the last dimensions: pads = [left, right, top, bottom, …] as in torch.nn.functional.pad. */
export function pad(
  x: Tensor,
  pads: number[],
  o: { mode?: "constant" | "reflect" | "replicate"; value?: number } = {},
): Tensor {
  const mode = o.mode ?? "constant";
  if (mode === "constant") return ops.constantPadNd(x, pads, o.value ?? 0);
  if (mode === "reflect") return ops.reflectionPad2d(x, pads);
  if (mode === "replicate") return ops.replicationPad2d(x, pads);
  throw expected('"constant", "reflect" or "replicate"', "mode in pad", mode);
}

export function groupNorm(
  x: Tensor,
  groups: number,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  eps = 1e-5,
): Tensor {
  check(x.size(1) % groups === 0, () => `groupNorm: channels ${x.size(1)} not divisible by groups ${groups}`);
  return ops.groupNorm(x, groups, weight, bias, eps);
}
export function layerNorm(
  x: Tensor,
  shape: number[],
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  eps = 1e-5,
): Tensor {
  return ops.layerNorm(x, shape, weight, bias, eps);
}
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  o: {
    weight?: Tensor | null;
    bias?: Tensor | null;
    training?: boolean;
    momentum?: number;
    eps?: number;
  } = {},
): Tensor {
  return ops.batchNorm(
    x,
    o.weight ?? null,
    o.bias ?? null,
    runningMean,
    runningVar,
    o.training ?? false,
    o.momentum ?? 0.1,
    o.eps ?? 1e-5,
    false,
  );
}
export function embedding(weight: Tensor, indices: Tensor): Tensor {
  return ops.embedding(weight, indices);
}
export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  check(p >= 0 && p < 1, () => `dropout: expected p in [0, 1) but received ${p}`);
  return training && p > 0 ? ops.dropout(x, p, true) : x.clone();
}

// ***** losses *****

/** Cross-entropy of logits (N, C, …) against class indices (N, …), as torch.nn.functional.cross_entropy. */
export function crossEntropy(
  logits: Tensor,
  target: Tensor,
  o: { reduction?: Reduction; ignoreIndex?: number; labelSmoothing?: number } = {},
): Tensor {
  return ops.crossEntropyLoss(
    logits,
    target,
    null,
    reductionCode(o.reduction ?? "mean"),
    o.ignoreIndex ?? -100,
    o.labelSmoothing ?? 0,
  );
}
export function mseLoss(a: Tensor, b: Tensor, reduction: Reduction = "mean"): Tensor {
  return ops.mseLoss(a, b, reductionCode(reduction));
}

// ***** sampling grids (geometric augmentation) *****

/** Sampling grid (N, H, W, 2) for affine matrices theta (N, 2, 3), as torch.nn.functional.affine_grid. */
export function affineGrid(
  theta: Tensor,
  size: [number, number, number, number],
  alignCorners = false,
): Tensor {
  return ops.affineGridGenerator(theta, size, alignCorners);
}
/** Samples x at grid locations, as torch.nn.functional.grid_sample. */
export function gridSample(
  x: Tensor,
  grid: Tensor,
  o: {
    mode?: "bilinear" | "nearest";
    padding?: "zeros" | "border" | "reflection";
    alignCorners?: boolean;
  } = {},
): Tensor {
  const mode = { bilinear: 0, nearest: 1 }[o.mode ?? "bilinear"];
  const padding = { zeros: 0, border: 1, reflection: 2 }[o.padding ?? "zeros"];
  return ops.gridSampler(x, grid, mode, padding, o.alignCorners ?? false);
}

// ***** global state *****

/** Seeds libtorch's global CPU generator (randn, rand, dropout, multinomial, …). */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) throw expected("non-negative integer", "seed", seed);
  native.manualSeed(seed);
}
/** The generator's full state, to save in a checkpoint. */
export function getRngState(): Tensor {
  return wrap(native.getRngState());
}
export function setRngState(state: Tensor): void {
  native.setRngState(state.handle);
}
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}
export function liveTensors(): number {
  return native.liveTensors();
}
/** Bytes of tensors that no tidy() scope will free, as the GC is told of them (see scope.ts). */
export function externalBytes(): number {
  return native.externalBytes();
}
export function cudaAvailable(): boolean {
  return native.cudaAvailable();
}
export function torchVersion(): string {
  return native.version();
}
export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

/** Runs fn with autograd recording off (inference, optimizer updates, EMA). */
export function noGrad<T>(fn: () => T): T {
  const prev = native.isGradEnabled();
  native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}
