// Misuse pinned to exact messages: each names the operator or argument and the problem.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as T from "../src/tensor/index.js";
import { native } from "../src/native/load.js";
import { Conv2d, GroupNorm, Linear } from "../src/nn/index.js";
import { dtypeOf } from "../src/tensor/dtype.js";

test("shape mismatches name the operator", () => {
  assert.throws(() => T.ones([2, 3]).matmul(T.ones([2, 3])), {
    name: "TorchError",
    message: /^aten::matmul: mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)/,
  });
  assert.throws(() => T.conv2d(T.ones([1, 2, 4, 4]), T.ones([3, 5, 3, 3])), {
    name: "TorchError",
    message:
      /^aten::conv2d: Given groups=1, weight of size \[3, 5, 3, 3\], expected input\[1, 2, 4, 4\] to have 5 channels/,
  });
  assert.throws(() => T.conv2d(T.ones([4, 4]), T.ones([1, 1, 3, 3])), {
    name: "ArgumentError",
    message: "conv2d: input must be rank 4 (N, C, H, W), got rank 2",
  });
});

test("wrong dtypes name the operator", () => {
  assert.throws(() => T.embedding(T.ones([3, 2]), T.ones([2])), {
    name: "TorchError",
    message:
      /^aten::embedding: Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int/,
  });
  // A result of a dtype lastframe does not handle (an operator called through raw): a user's mistake, not a bug.
  assert.throws(() => dtypeOf(9), {
    name: "ArgumentError",
    message: /^Expected a tensor of one of uint8, .* but received one of libtorch dtype code 9$/,
  });
  assert.throws(() => T.tensor([1], undefined, { dtype: "complex" as never }), {
    name: "ArgumentError",
    message: /^Expected one of uint8, .* for dtype but received complex/,
  });
});

test("unknown operators and bad argument types", () => {
  assert.throws(() => native.resolveOp("aten::no_such_op", ""), {
    message: "unknown operator aten::no_such_op",
  });
  const add = native.resolveOp("aten::add", "Tensor");
  assert.throws(() => native.call(add, [1, 2]), {
    name: "TypeError",
    message: "aten::add.Tensor: argument 'self' expected a tensor but received number",
  });
  const zeros = native.resolveOp("aten::zeros", "");
  assert.throws(() => native.call(zeros, [[2, 1.5]]), {
    message: "aten::zeros: argument 'size' expected an integer but received 1.500000",
  });
  assert.throws(() => native.call(add, []), { message: "aten::add.Tensor: argument 'self' is required" });
});

test("argument validation uses one template", () => {
  assert.throws(() => T.zeros([2, -1]), {
    name: "ArgumentError",
    message: "Expected an array of non-negative integers for shape in zeros but received [2, -1] (array)",
  });
  assert.throws(() => new Linear(0, 3), {
    name: "ArgumentError",
    message: "Expected positive integer for inFeatures in Linear but received 0 (number)",
  });
  assert.throws(() => new Conv2d(4, 6, 3, { groups: 4 }), {
    message: "Expected a divisor of 4 and 6 for groups in Conv2d but received 4 (number)",
  });
  assert.throws(() => new GroupNorm(4, 6), {
    message: "Expected a positive multiple of 4 for channels in GroupNorm but received 6 (number)",
  });
  assert.throws(() => T.manualSeed(-1), {
    message: "Expected non-negative integer for seed but received -1 (number)",
  });
  assert.throws(() => T.fromTyped(new Float32Array(5), [2, 2]), {
    message: "fromTyped: data has 5 elements but shape [2,2] needs 4",
  });
  assert.throws(() => T.ones([1]).item.call(T.ones([2])), {
    message: "item: expected a tensor with one element but shape is [2]",
  });
});

test(
  "asking for CUDA on a CPU build is a clear error",
  { skip: T.cudaAvailable() ? "this libtorch has CUDA" : false },
  () => {
    assert.throws(() => T.zeros([2], { device: "cuda" }), {
      name: "ArgumentError",
      message: /^Expected device cpu for device but received "cuda": this libtorch was built without CUDA/,
    });
    assert.throws(() => T.zeros([2], { device: "tpu" }), {
      message: 'Expected "cpu" or "cuda[:N]" for device but received "tpu"',
    });
  },
);
