// Operator values against independent computations in plain JS, broadcasting and dtype rules, data round trips.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as T from "../../src/tensor/index.js";
import { assertClose } from "../helpers.js";

test("typed-array round trips keep values and dtypes", () => {
  const cases: [T.DType, ArrayLike<number | bigint>][] = [
    ["float32", Float32Array.of(1.5, -2, 3.25)],
    ["float64", Float64Array.of(1e-300, -2, Math.PI)],
    ["int32", Int32Array.of(-7, 0, 2 ** 30)],
    ["int64", BigInt64Array.of(-(2n ** 40n), 0n, 5n)],
    ["uint8", Uint8Array.of(0, 128, 255)],
  ];
  for (const [dtype, data] of cases) {
    const t = T.fromTyped(data as never, [3]);
    assert.equal(t.dtype, dtype);
    assert.deepEqual(Array.from(t.data() as ArrayLike<number>), Array.from(data as ArrayLike<number>));
  }
  const half = T.tensor([1, 0.5, -2], undefined, { dtype: "float16" });
  assert.deepEqual(half.to("float32").toArray(), [1, 0.5, -2]);
  const b = T.tensor([1, 0, 1], undefined, { dtype: "bool" });
  assert.equal(b.dtype, "bool");
  assert.deepEqual(b.toArray(), [1, 0, 1]);
});

test("nested arrays infer shapes", () => {
  const t = T.tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.deepEqual(t.shape, [2, 3]);
  assert.deepEqual(t.transpose(0, 1).contiguous().toArray(), [1, 4, 2, 5, 3, 6]);
});

test("broadcasting follows NumPy rules", () => {
  const a = T.tensor([1, 2, 3], [3, 1]);
  const b = T.tensor([10, 20], [1, 2]);
  assert.deepEqual(a.add(b).shape, [3, 2]);
  assert.deepEqual(a.add(b).toArray(), [11, 21, 12, 22, 13, 23]);
  assert.deepEqual(a.mul(b).toArray(), [10, 20, 20, 40, 30, 60]);
  assert.throws(
    () => T.zeros([2, 3]).add(T.zeros([4])),
    /aten::add.Tensor: The size of tensor a \(3\) must match the size of tensor b \(4\)/,
  );
});

test("dtype promotion: int with float scalar promotes, float with int scalar stays float", () => {
  const i = T.tensor([1, 2, 3], undefined, { dtype: "int64" });
  assert.equal(i.mul(2).dtype, "int64");
  assert.equal(i.mul(0.5).dtype, "float32");
  assert.deepEqual(i.mul(0.5).toArray(), [0.5, 1, 1.5]);
  assert.equal(T.ones([2]).mul(3).dtype, "float32");
  assert.equal(i.add(T.ones([3], { dtype: "float64" })).dtype, "float64");
  assert.equal(T.arange(4).dtype, "int64");
  assert.equal(T.arange(0, 1, 0.25).dtype, "float32");
  assert.deepEqual(T.arange(0, 1, 0.25).toArray(), [0, 0.25, 0.5, 0.75]);
});

test("matmul and conv2d equal direct loops", () => {
  T.manualSeed(3);
  const a = T.randn([3, 4]),
    b = T.randn([4, 5]);
  const A = a.toArray(),
    B = b.toArray();
  const expected: number[] = [];
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 5; j++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += A[i * 4 + k]! * B[k * 5 + j]!;
      expected.push(s);
    }
  assertClose(a.matmul(b).toArray(), expected, 1e-5, "matmul");

  // conv2d, stride 2, padding 1: x (1, 2, 5, 5), w (3, 2, 3, 3)
  const x = T.randn([1, 2, 5, 5]),
    w = T.randn([3, 2, 3, 3]),
    bias = T.randn([3]);
  const X = x.toArray(),
    W = w.toArray(),
    Bs = bias.toArray();
  const out: number[] = [];
  for (let o = 0; o < 3; o++)
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        let s = Bs[o]!;
        for (let c = 0; c < 2; c++)
          for (let ki = 0; ki < 3; ki++)
            for (let kj = 0; kj < 3; kj++) {
              const y = i * 2 - 1 + ki,
                z = j * 2 - 1 + kj;
              if (y < 0 || z < 0 || y >= 5 || z >= 5) continue;
              s += X[c * 25 + y * 5 + z]! * W[((o * 2 + c) * 3 + ki) * 3 + kj]!;
            }
        out.push(s);
      }
  const y = T.conv2d(x, w, bias, { stride: 2, padding: 1 });
  assert.deepEqual(y.shape, [1, 3, 3, 3]);
  assertClose(y.toArray(), out, 1e-5, "conv2d");
});

test("reductions, softmax and logsumexp match plain JS", () => {
  const v = [0.5, -1, 2, 3, 0, -0.25];
  const t = T.tensor(v, [2, 3]);
  assertClose(t.sum().toArray(), [v.reduce((a, b) => a + b)]);
  assertClose(t.sum(1).toArray(), [1.5, 2.75]);
  assertClose(t.mean(0).toArray(), [1.75, -0.5, 0.875]);
  const row = [0.5, -1, 2];
  const lse = Math.log(row.reduce((s, x) => s + Math.exp(x), 0));
  assertClose(t.logsumexp(1).toArray().slice(0, 1), [lse]);
  assertClose(
    t.softmax(1).toArray().slice(0, 3),
    row.map((x) => Math.exp(x - lse)),
  );
  const mean = v.reduce((a, b) => a + b) / 6;
  const varUnbiased = v.reduce((s, x) => s + (x - mean) ** 2, 0) / 5;
  assertClose(t.var().toArray(), [varUnbiased]);
  assertClose(t.var(undefined, { correction: 0 }).toArray(), [(varUnbiased * 5) / 6]);
  assert.deepEqual(t.argmax(1).toArray(), [2, 0]);
  const [vals, idx] = t.topk(2, 1);
  assert.deepEqual(vals.toArray(), [2, 0.5, 3, 0]);
  assert.deepEqual(idx.toArray(), [2, 0, 0, 1]);
  assert.deepEqual(t.cumsum(1).toArray(), [0.5, -0.5, 1.5, 3, 3, 2.75]);
});

test("cross-entropy equals −log softmax at the target", () => {
  const logits = T.tensor([
    [1, 2, 0.5],
    [0, -1, 3],
  ]);
  const target = T.tensor([1, 2], undefined, { dtype: "int64" });
  const lsm = logits.logSoftmax(1).toArray();
  assertClose(T.crossEntropy(logits, target).toArray(), [-(lsm[1]! + lsm[5]!) / 2]);
  assertClose(T.crossEntropy(logits, target, { reduction: "none" }).toArray(), [-lsm[1]!, -lsm[5]!]);
});

test("shape and movement ops", () => {
  const t = T.arange(24).reshape(2, 3, 4);
  assert.deepEqual(t.permute(2, 0, 1).shape, [4, 2, 3]);
  assert.deepEqual(t.flatten(1).shape, [2, 12]);
  assert.deepEqual(t.unflatten(2, [2, 2]).shape, [2, 3, 2, 2]);
  assert.deepEqual(t.narrow(2, 1, 2).contiguous().toArray().slice(0, 4), [1, 2, 5, 6]);
  assert.deepEqual(t.select(0, 1).shape, [3, 4]);
  assert.deepEqual(t.slice(2, 0, null, 2).contiguous().toArray().slice(0, 4), [0, 2, 4, 6]);
  assert.deepEqual(
    t.chunk(2, 2).map((c) => c.shape),
    [
      [2, 3, 2],
      [2, 3, 2],
    ],
  );
  assert.deepEqual(
    t.split([1, 3], 2).map((c) => c.shape),
    [
      [2, 3, 1],
      [2, 3, 3],
    ],
  );
  assert.deepEqual(T.cat([t, t], 1).shape, [2, 6, 4]);
  assert.deepEqual(T.stack([t, t], 0).shape, [2, 2, 3, 4]);
  assert.deepEqual(t.unsqueeze(1).squeeze(1).shape, [2, 3, 4]);
  assert.deepEqual(T.tensor([1, 2]).unsqueeze(1).expand(2, 3).contiguous().toArray(), [1, 1, 1, 2, 2, 2]);
  assert.deepEqual(T.tensor([3, 1, 2]).flip(0).toArray(), [2, 1, 3]);
  const idx = T.tensor([2, 0], undefined, { dtype: "int64" });
  assert.deepEqual(T.tensor([5, 6, 7]).indexSelect(0, idx).toArray(), [7, 5]);
  const z = T.zeros([3]).scatter(0, idx, T.tensor([1, 2]));
  assert.deepEqual(z.toArray(), [2, 0, 1]);
  assert.deepEqual(
    T.tensor([1, 2, 3, 4], [2, 2])
      .index([T.tensor([1, 0], undefined, { dtype: "int64" })])
      .toArray(),
    [3, 4, 1, 2],
  );
  assert.deepEqual(
    T.oneHot(T.tensor([0, 2], undefined, { dtype: "int64" }), 3).toArray(),
    [1, 0, 0, 0, 0, 1],
  );
});

test("comparisons, where and masked fill", () => {
  const a = T.tensor([1, 5, 3]);
  assert.deepEqual(a.gt(2).toArray(), [0, 1, 1]);
  assert.equal(a.gt(2).dtype, "bool");
  assert.deepEqual(T.where(a.lt(4), a, T.zerosLike(a)).toArray(), [1, 0, 3]);
  assert.deepEqual(a.maskedFill(a.eq(5), -1).toArray(), [1, -1, 3]);
  assert.deepEqual(a.clamp(2, 4).toArray(), [2, 4, 3]);
});

test("seeded random streams are reproducible and state can be restored", () => {
  T.manualSeed(42);
  const a = T.randn([5]).toArray();
  const state = T.getRngState();
  const b = T.randn([5]).toArray();
  T.manualSeed(42);
  assert.deepEqual(T.randn([5]).toArray(), a);
  T.setRngState(state);
  assert.deepEqual(T.randn([5]).toArray(), b);
  const m = T.multinomial(T.tensor([0, 0, 1]), 4, true).toArray();
  assert.deepEqual(m, [2, 2, 2, 2]);
});

test("interpolate and pooling values", () => {
  const x = T.tensor([1, 2, 3, 4], [1, 1, 2, 2]);
  assert.deepEqual(T.interpolate(x, { scaleFactor: 2 }).toArray().slice(0, 4), [1, 1, 2, 2]);
  assert.deepEqual(T.avgPool2d(x, 2).toArray(), [2.5]);
  assert.deepEqual(T.maxPool2d(x, 2).toArray(), [4]);
  // bilinear with align_corners=false at 2x: the first output sample sits at input coordinate -0.25 → clamped 1
  const up = T.interpolate(x, { scaleFactor: 2, mode: "bilinear" }).toArray();
  assertClose(up.slice(0, 4), [1, 1.25, 1.75, 2]);
});

test("noGrad disables recording and restores the previous mode", () => {
  const w = T.ones([2]).requiresGrad_();
  const y = T.noGrad(() => w.mul(2));
  assert.equal(y.requiresGrad, false);
  assert.equal(T.isGradEnabled(), true);
  assert.equal(w.mul(2).requiresGrad, true);
});
