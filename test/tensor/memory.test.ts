// Memory discipline: tidy frees intermediates, returns survive, keep() exempts, errors free everything, and a
// long training loop holds resident memory flat. The soak through train() and sampling, in a process of its own,
// is test/train/soak.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as T from "../../src/tensor/index.js";
import { Adam, Conv2d, Linear, Module } from "../../src/nn/index.js";

test("tidy frees intermediates and keeps what it returns (nested, in containers)", () => {
  const before = T.liveTensors();
  const out = T.tidy(() => {
    const a = T.ones([3]);
    const inner = T.tidy(() => a.add(1).mul(2)); // survives the inner scope, belongs to the outer
    return { sum: inner.add(a), list: [a.mul(3)] };
  });
  assert.equal(T.liveTensors(), before + 2);
  assert.deepEqual(out.sum.toArray(), [5, 5, 5]);
  T.dispose(out);
  assert.equal(T.liveTensors(), before);
});

test("keep() exempts a tensor from every enclosing scope", () => {
  const before = T.liveTensors();
  let kept!: T.Tensor;
  T.tidy(() => T.tidy(() => void (kept = T.keep(T.zeros([2])))));
  assert.equal(kept.isDisposed, false);
  kept.dispose();
  assert.equal(T.liveTensors(), before);
});

test("only tensors no scope will free count as V8 external memory", () => {
  const external = T.externalBytes;
  const mb = 2 ** 20;
  const base = external();
  T.tidy(() => {
    T.zeros([4, mb / 16]); // 1 MiB freed by the scope: the GC need not hear of it
    assert.equal(external(), base, "a scoped tensor was reported");
  });
  const loose = T.zeros([4, mb / 16]);
  assert.equal(external() - base, mb, "an unscoped tensor was not reported");
  const kept = T.tidy(() => T.keep(T.zeros([4, mb / 16])));
  const returned = T.tidy(() => T.zeros([4, mb / 16]));
  assert.equal(external() - base, 3 * mb, "kept or returned tensors were not reported");
  T.dispose([loose, kept, returned]);
  assert.equal(external(), base, "disposal did not give the memory back");
});

test("a throwing body frees what it created", () => {
  const before = T.liveTensors();
  assert.throws(() => T.tidy(() => T.ones([2]).add(T.ones([3]))), /must match/);
  assert.equal(T.liveTensors(), before);
});

test("an async body is refused", () => {
  assert.throws(() => T.tidy((async () => 1) as never), /must be synchronous/);
});

test("disposed tensors throw a clear error and never crash", () => {
  const t = T.ones([2]);
  t.dispose();
  t.dispose(); // idempotent
  assert.throws(() => t.add(1), { name: "TorchError", message: "Tensor is disposed" });
  assert.throws(() => t.shape, /Tensor is disposed/);
});

class Small extends Module {
  conv = new Conv2d(1, 8, 3, { padding: 1 });
  fc = new Linear(8, 2);
  forward(x: T.Tensor): T.Tensor {
    return this.fc.forward(this.conv.forward(x).relu().mean([2, 3]));
  }
}

test("thousands of training steps keep live tensors constant and resident memory flat", () => {
  T.manualSeed(0);
  const net = new Small();
  const opt = new Adam(net.parameters(), { lr: 1e-3 });
  const x = T.randn([8, 1, 8, 8]);
  const target = T.randn([8, 2]);
  const step = () =>
    T.tidy(() => {
      const loss = T.mseLoss(net.forward(x), target);
      opt.zeroGrad();
      loss.backward();
      opt.update();
      return loss.item();
    });
  for (let i = 0; i < 300; i++) step();
  const live = T.liveTensors();
  const rss0 = process.memoryUsage().rss;
  let last = 0;
  for (let i = 0; i < 5000; i++) last = step();
  const growthMb = (process.memoryUsage().rss - rss0) / 2 ** 20;
  assert.equal(T.liveTensors(), live);
  assert.ok(growthMb < 50, `resident memory grew by ${growthMb.toFixed(1)} MB over 5000 steps`);
  assert.ok(Number.isFinite(last));
});
