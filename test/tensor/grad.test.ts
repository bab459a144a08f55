// Autograd against central finite differences (float64) for a broad set of operators.
import { test } from "node:test";
import * as T from "../../src/tensor/index.js";
import { gradcheck } from "../helpers.js";

T.manualSeed(1);
const r = (...shape: number[]) => T.randn(shape, { dtype: "float64" });
const pos = (...shape: number[]) => T.rand(shape, { dtype: "float64" }).add(0.5);

const cases: [string, (...xs: T.Tensor[]) => T.Tensor, () => T.Tensor[]][] = [
  ["add (broadcast)", (a, b) => a.add(b), () => [r(3, 4), r(4)]],
  ["sub", (a, b) => a.sub(b, 2), () => [r(2, 3), r(2, 3)]],
  ["mul (broadcast)", (a, b) => a.mul(b), () => [r(2, 1, 3), r(4, 1)]],
  ["div", (a, b) => a.div(b), () => [r(3, 3), pos(3, 3)]],
  ["pow scalar", (a) => a.pow(3), () => [r(5)]],
  ["exp, log", (a) => a.exp().add(a.abs().add(1).log()), () => [r(6)]],
  ["sqrt, rsqrt", (a) => a.sqrt().add(a.rsqrt()), () => [pos(6)]],
  ["sigmoid, tanh", (a) => a.sigmoid().mul(a.tanh()), () => [r(7)]],
  ["softplus, silu, gelu", (a) => a.softplus().add(a.silu()).add(a.gelu()), () => [r(7)]],
  ["leaky relu, elu", (a) => a.leakyRelu(0.2).add(a.elu()), () => [r(7).add(0.05)]],
  ["matmul", (a, b) => a.matmul(b), () => [r(3, 4), r(4, 2)]],
  ["bmm", (a, b) => a.bmm(b), () => [r(2, 3, 4), r(2, 4, 2)]],
  ["linear", (x, w, b) => T.linear(x, w, b), () => [r(3, 4), r(5, 4), r(5)]],
  [
    "conv2d stride/pad/dilation",
    (x, w, b) => T.conv2d(x, w, b, { stride: 2, padding: 1, dilation: 1 }),
    () => [r(2, 3, 5, 5), r(4, 3, 3, 3), r(4)],
  ],
  [
    "conv2d groups",
    (x, w) => T.conv2d(x, w, null, { groups: 2, padding: 1 }),
    () => [r(1, 4, 4, 4), r(4, 2, 3, 3)],
  ],
  ["conv2d dilation", (x, w) => T.conv2d(x, w, null, { dilation: 2 }), () => [r(1, 2, 6, 6), r(3, 2, 3, 3)]],
  [
    "convTranspose2d",
    (x, w, b) => T.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
    () => [r(1, 3, 3, 3), r(3, 2, 3, 3), r(2)],
  ],
  ["avgPool2d", (x) => T.avgPool2d(x, 2), () => [r(1, 2, 4, 4)]],
  ["maxPool2d", (x) => T.maxPool2d(x, 2), () => [r(1, 2, 4, 4)]],
  [
    "interpolate bilinear",
    (x) => T.interpolate(x, { size: [5, 7], mode: "bilinear" }),
    () => [r(1, 2, 3, 4)],
  ],
  ["interpolate nearest", (x) => T.interpolate(x, { scaleFactor: 2 }), () => [r(1, 1, 2, 3)]],
  ["groupNorm", (x, w, b) => T.groupNorm(x, 2, w, b), () => [r(2, 4, 3, 3), r(4), r(4)]],
  ["layerNorm", (x, w, b) => T.layerNorm(x, [5], w, b), () => [r(3, 5), r(5), r(5)]],
  ["batchNorm (training)", (x) => T.batchNorm(x, null, null, { training: true }), () => [r(4, 3, 2, 2)]],
  ["softmax, logSoftmax", (x) => x.softmax(1).add(x.logSoftmax(0)), () => [r(3, 4)]],
  ["logsumexp", (x) => x.logsumexp(1), () => [r(3, 4)]],
  [
    "crossEntropy",
    (x) => T.crossEntropy(x, T.tensor([0, 2, 1], undefined, { dtype: "int64" })),
    () => [r(3, 4)],
  ],
  ["mseLoss", (a, b) => T.mseLoss(a, b), () => [r(3, 4), r(3, 4)]],
  ["sum, mean over dims", (x) => x.sum([0, 2], true).add(x.mean(1, true).sum()), () => [r(2, 3, 4)]],
  ["var, std", (x) => x.var(1).add(x.std(0).sum()), () => [r(3, 4)]],
  ["amax", (x) => x.amax(1), () => [r(3, 5)]],
  ["cumsum", (x) => x.cumsum(1), () => [r(2, 4)]],
  [
    "reshape, permute, transpose",
    (x) => x.reshape(3, 2, 4).permute(2, 0, 1).transpose(0, 2).mul(2),
    () => [r(6, 4)],
  ],
  [
    "cat, stack",
    (a, b) => T.cat([a, b], 1).add(T.stack([a, a], 0).sum(0).repeat(1, 2)),
    () => [r(2, 3), r(2, 3)],
  ],
  ["narrow, chunk", (x) => x.narrow(1, 1, 2).mul(x.chunk(2, 1)[0]!), () => [r(2, 4)]],
  [
    "indexSelect, gather",
    (x) =>
      x.indexSelect(1, T.tensor([2, 0], undefined, { dtype: "int64" })).add(
        x.gather(
          1,
          T.tensor(
            [
              [1, 1],
              [0, 2],
            ],
            undefined,
            { dtype: "int64" },
          ),
        ),
      ),
    () => [r(2, 3)],
  ],
  [
    "embedding",
    (w) =>
      T.embedding(
        w,
        T.tensor(
          [
            [0, 2],
            [1, 2],
          ],
          undefined,
          { dtype: "int64" },
        ),
      ),
    () => [r(3, 4)],
  ],
  ["where, clamp", (a, b) => T.where(a.gt(0), a.clamp(-0.5, 0.5), b), () => [r(4, 4), r(4, 4)]],
  [
    "pad constant/reflect",
    (x) =>
      T.pad(x, [1, 2, 0, 1])
        .sum()
        .add(T.pad(x, [1, 1, 1, 1], { mode: "reflect" })),
    () => [r(1, 1, 3, 4)],
  ],
  [
    "gridSample with affineGrid",
    (x, th) => T.gridSample(x, T.affineGrid(th, [1, 1, 4, 4])),
    () => [
      r(1, 1, 4, 4),
      T.tensor(
        [
          [
            [0.731, 0.213, 0.0137],
            [-0.171, 0.643, 0.0311],
          ],
        ],
        undefined,
        { dtype: "float64" },
      ),
    ],
  ],
];

for (const [name, f, inputs] of cases) {
  test(`gradient of ${name} matches finite differences`, () => {
    gradcheck(
      name,
      f,
      T.tidy(() => inputs().map(T.keep)),
      1e-5,
    );
  });
}
