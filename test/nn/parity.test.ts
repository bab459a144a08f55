// Layers, attention and optimizers against PyTorch outputs (test/fixtures/nn/make_fixtures.py made them).
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import * as T from "../../src/tensor/index.js";
import {
  Adam,
  AdamW,
  CausalSelfAttention,
  Conv2d,
  ConvTranspose2d,
  GroupNorm,
  LayerNorm,
  Linear,
  loadSafetensors,
  emptyCache,
  disposeCache,
} from "../../src/nn/index.js";
import { assertClose } from "../helpers.js";

const fixture = fileURLToPath(new URL("../../../test/fixtures/nn/reference.safetensors", import.meta.url));
const ref = loadSafetensors(fixture).tensors;
const get = (k: string) => {
  const t = ref.get(k);
  if (!t) throw new Error(`fixture has no tensor ${k}`);
  return t;
};
const setWeights = (
  m: { loadStateDict: (s: Map<string, T.Tensor>) => void },
  prefix: string,
  names: string[],
) => m.loadStateDict(new Map(names.map((n) => [n, get(`${prefix}.${n}`)])));

test("Linear matches torch.nn.Linear", () => {
  const lin = new Linear(5, 3);
  setWeights(lin, "linear", ["weight", "bias"]);
  assertClose(lin.forward(get("linear.x")).toArray(), get("linear.y").toArray(), 1e-5);
});

test("Conv2d (stride 2, padding 1, groups 2) matches torch.nn.Conv2d", () => {
  const conv = new Conv2d(4, 6, 3, { stride: 2, padding: 1, groups: 2 });
  setWeights(conv, "conv", ["weight", "bias"]);
  assertClose(conv.forward(get("conv.x")).toArray(), get("conv.y").toArray(), 1e-5);
});

test("ConvTranspose2d matches torch.nn.ConvTranspose2d", () => {
  const t = new ConvTranspose2d(4, 3, 4, { stride: 2, padding: 1 });
  setWeights(t, "tconv", ["weight", "bias"]);
  assertClose(t.forward(get("conv.x")).toArray(), get("tconv.y").toArray(), 1e-5);
});

test("GroupNorm and LayerNorm match PyTorch", () => {
  const gn = new GroupNorm(2, 4);
  setWeights(gn, "gn", ["weight", "bias"]);
  assertClose(gn.forward(get("conv.x")).toArray(), get("gn.y").toArray(), 1e-5);
  assertClose(new LayerNorm(8).forward(get("ln.x")).toArray(), get("ln.y").toArray(), 1e-5);
});

test("causal self-attention matches a nanoGPT-style PyTorch reference, with and without a KV cache", () => {
  const attn = new CausalSelfAttention(8, 2);
  setWeights(attn, "attn", ["qkv.weight", "qkv.bias", "proj.weight", "proj.bias"]);
  const x = get("ln.x");
  assertClose(attn.forward(x).toArray(), get("attn.y").toArray(), 1e-5, "full pass");
  // Token by token through the cache gives the same outputs.
  const cache = emptyCache();
  const steps = [...Array(7).keys()].map((t) => T.tidy(() => attn.forward(x.narrow(1, t, 1), { cache })));
  assertClose(T.cat(steps, 1).toArray(), get("attn.y").toArray(), 1e-5, "cached pass");
  disposeCache(cache);
});

for (const [name, Opt] of [
  ["adam", Adam],
  ["adamw", AdamW],
] as const) {
  test(`${name} matches torch.optim over three steps with weight decay`, () => {
    const p = T.keep(get(`${name}.p0`).clone().requiresGrad_());
    const opt = new Opt([p], { lr: 0.1, weightDecay: 0.1 });
    for (let s = 0; s < 3; s++) {
      p.grad = get(`${name}.g${s}`).clone();
      opt.update();
    }
    assertClose(p.toArray(), get(`${name}.p3`).toArray(), 1e-6);
  });
}
