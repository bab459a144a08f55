// Stage 1 of the VQ-VAE family: nearest-code quantisation, the moving-average codebook update and dead-code
// restarts against hand computations, straight-through gradients, PSNR, and parity with the PyTorch twin
// (test/fixtures/models/make_vq_fixtures.py).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Adam, loadSafetensors } from "../../src/nn/index.js";
import {
  type Tensor,
  dispose,
  interpolate,
  manualSeed,
  noGrad,
  randn,
  tensor,
  tidy,
  setNumThreads,
} from "../../src/tensor/index.js";
import { Codebook, VQVAE, type VQVAEConfig, defaults } from "../../src/models/vqvae.js";
import { psnr } from "../../src/video/metrics.js";
import { assertClose, assertNoLeak } from "../helpers.js";

// Tiny models: a second thread only adds synchronisation (and, on a loaded machine, long waits).
setNumThreads(1);

const tiny: VQVAEConfig = {
  ...defaults,
  width: 8,
  resBlocks: 1,
  resWidth: 4,
  codes: 16,
  codeDim: 4,
  grid: 4,
};

/** Sets a codebook's state by hand (the tensors are its buffers or parameter). */
function setCodebook(cb: Codebook, embed: number[][], size: number[], sum?: number[][]): void {
  noGrad(() =>
    tidy(() => {
      cb.embed.copy_(tensor(embed));
      cb.size.copy_(tensor(size));
      if (sum) cb.sum!.copy_(tensor(sum));
    }),
  );
}

test("quantisation returns the nearest code (squared Euclidean distance, checked by brute force)", () => {
  manualSeed(1);
  const cb = new Codebook({ ...tiny, codes: 7, codeDim: 3 });
  tidy(() => {
    const z = randn([50, 3]).mul(0.3);
    const idx = cb.nearest(z).toArray();
    const E = cb.embed.toArray(),
      Z = z.toArray();
    for (let n = 0; n < 50; n++) {
      const d = Array.from({ length: 7 }, (_, k) =>
        [0, 1, 2].reduce((s, j) => s + (Z[n * 3 + j]! - E[k * 3 + j]!) ** 2, 0),
      );
      assert.equal(idx[n], d.indexOf(Math.min(...d)), `row ${n}`);
    }
  });
  cb.dispose();
});

test("EMA codebook update matches a hand computation", () => {
  const cfg = { ...tiny, codes: 3, codeDim: 2, decay: 0.5, restartBelow: 0.5 };
  const cb = new Codebook(cfg);
  setCodebook(
    cb,
    [
      [0, 0],
      [1, 1],
      [-1, 2],
    ],
    [2, 2, 2],
    [
      [0, 0],
      [2, 2],
      [-2, 4],
    ],
  );
  // Four vectors; the first two are nearest code 0, the third code 1, the fourth code 2... by construction:
  const z = [
    [0.1, -0.1],
    [0.3, 0.1],
    [0.9, 1.2],
    [1.1, 0.8],
  ];
  tidy(() => {
    const q = cb.forward(tensor(z).view(4, 1, 1, 2).permute(0, 3, 1, 2)); // (4, D, 1, 1)
    assert.deepEqual(q.indices.toArray(), [0, 0, 1, 1]);
  });
  // counts [2, 2, 0]; size = 0.5·[2, 2, 2] + 0.5·[2, 2, 0] = [2, 2, 1] (none below 0.5: no restart)
  // sum: code 0: 0.5·[0, 0] + 0.5·[0.4, 0] = [0.2, 0]; code 1: 0.5·[2, 2] + 0.5·[2, 2] = [2, 2]; code 2: [-1, 2]
  const size = [2, 2, 1];
  const sum = [
    [0.2, 0],
    [2, 2],
    [-1, 2],
  ];
  const n = 5,
    eps = 1e-5;
  const smoothed = size.map((s) => ((s + eps) / (n + 3 * eps)) * n);
  const embed = sum.map((row, k) => row.map((v) => v / smoothed[k]!));
  assertClose(cb.size.toArray(), size, 1e-6, "size");
  assertClose(cb.sum!.toArray(), sum.flat(), 1e-6, "sum");
  assertClose(cb.embed.toArray(), embed.flat(), 1e-6, "embed");
  cb.dispose();
});

test("a dead code restarts at an encoder output of the batch and counts as used restartBelow times", () => {
  manualSeed(2);
  for (const codebook of ["ema", "straight-through"] as const) {
    const cfg = { ...tiny, codes: 3, codeDim: 2, decay: 0.5, restartBelow: 1, codebook };
    const cb = new Codebook(cfg);
    setCodebook(
      cb,
      [
        [0, 0],
        [1, 1],
        [9, 9],
      ],
      [2, 2, 1.5],
      codebook === "ema"
        ? [
            [0, 0],
            [2, 2],
            [13.5, 13.5],
          ]
        : undefined,
    );
    const z = [
      [0.1, 0],
      [0.2, 0],
      [1, 1.1],
      [1.2, 0.9],
    ];
    tidy(() => void cb.forward(tensor(z).view(4, 1, 1, 2).permute(0, 3, 1, 2)));
    // Code 2 got no vector: its count fell to 0.75 < 1, so it restarts at one of the four vectors.
    const size = cb.size.toArray();
    assertClose(size, [2, 2, 1], 1e-6, `${codebook} size`);
    const e2 = cb.embed.toArray().slice(4);
    const match = z.some((v) => Math.abs(v[0]! - e2[0]!) < 1e-3 && Math.abs(v[1]! - e2[1]!) < 1e-3);
    assert.ok(match, `${codebook}: restarted code ${e2} is not a batch vector`);
    cb.dispose();
  }
});

test("a fresh codebook is initialised from encoder outputs by the first training batch", () => {
  manualSeed(3);
  const cb = new Codebook({ ...tiny, codes: 8, codeDim: 2 });
  tidy(() => {
    const z = randn([20, 2]).mul(10);
    cb.forward(z.view(20, 1, 1, 2).permute(0, 3, 1, 2));
    // Every code was dead (count 0); each is now (up to Laplace smoothing) one of the 20 vectors.
    const E = cb.embed.toArray(),
      Z = z.toArray();
    for (let k = 0; k < 8; k++) {
      const dist = Math.min(
        ...Array.from({ length: 20 }, (_, n) =>
          Math.hypot(E[2 * k]! - Z[2 * n]!, E[2 * k + 1]! - Z[2 * n + 1]!),
        ),
      );
      assert.ok(dist < 1e-3 * 10, `code ${k} is ${dist} away from every batch vector`);
    }
  });
  cb.dispose();
});

test("straight-through: the decoder's gradient reaches the encoder unchanged, and only the codebook loss moves codes", () => {
  manualSeed(4);
  for (const codebook of ["ema", "straight-through"] as const) {
    const cb = new Codebook({ ...tiny, codes: 4, codeDim: 3, codebook }).eval();
    tidy(() => {
      const ze = randn([2, 3, 2, 2]).requiresGrad_();
      const w = randn([2, 3, 2, 2]);
      const q = cb.forward(ze);
      q.zq.mul(w).sum().backward();
      assertClose(ze.grad!.toArray(), w.toArray(), 1e-6, `${codebook}: d zq / d ze`);
      // z_q's forward value is the code vector.
      assertClose(
        q.zq.permute(0, 2, 3, 1).reshape(-1, 3).toArray(),
        cb.lookup(q.indices.reshape(-1)).toArray(),
        1e-6,
        "zq values",
      );
      if (codebook === "straight-through") {
        cb.forward(ze).loss.backward();
        assert.ok(cb.embed.grad!.abs().sum().item() > 0, "codebook loss reaches the codes");
      } else assert.equal(cb.embed.requiresGrad, false);
    });
    cb.dispose();
  }
});

test("VQ-VAE: 4× down-sampling for 32×32, 8× for 64×64, gradients reach the encoder, loss falls", () => {
  manualSeed(5);
  for (const [size, grid] of [
    [32, 8],
    [64, 8],
  ]) {
    const m = new VQVAE({ ...tiny, grid: grid! }, 3, size!);
    assert.equal(m.enc.down.length, Math.log2(size! / grid!));
    tidy(() => {
      const x = randn([2, 3, size!, size!]).tanh();
      assert.deepEqual(m.encode(x).shape, [2, grid, grid]);
      assert.deepEqual(m.forward(x).recon.shape, [2, 3, size, size]);
    });
    m.dispose();
  }
  assert.throws(() => new VQVAE(tiny, 1, 24), {
    message: "VQVAE: image size 24 is not grid 4 times a power of two (2, 4, 8, …)",
  });

  const m = new VQVAE(tiny, 1, 16);
  const opt = new Adam(m.parameters(), { lr: 3e-3 });
  // Blocky images, one random level per 4×4 patch: what a 4×4 grid of codes can represent.
  const x = tidy(() => interpolate(randn([16, 1, 4, 4]).tanh(), { size: [16, 16] }));
  const losses: number[] = [];
  for (let i = 0; i < 100; i++)
    losses.push(
      tidy(() => {
        const { loss } = m.loss(x);
        opt.zeroGrad();
        loss.backward();
        const g = m.enc.down[0]!.weight.grad;
        assert.ok(g && g.abs().sum().item() > 0, "encoder gradient");
        opt.update();
        return loss.item();
      }),
    );
  assert.ok(losses.at(-1)! < 0.5 * losses[0]!, `loss ${losses[0]} → ${losses.at(-1)}`);
  opt.dispose();
  m.dispose();
  x.dispose();
});

// The one psnr (video/metrics.ts), which the VQ family's evaluation uses on clamped reconstructions.
test("PSNR of images in [-1, 1]: 10·log10(4 / MSE) per image", () => {
  tidy(() => {
    const a = tensor([
      [0, 0, 0, 0],
      [1, 1, 1, 1],
    ]).view(2, 1, 2, 2);
    const b = tensor([
      [0.1, -0.1, 0.1, -0.1],
      [1, 1, 1, 0],
    ]).view(2, 1, 2, 2);
    assertClose(psnr(b, a).toArray(), [10 * Math.log10(4 / 0.01), 10 * Math.log10(4 / 0.25)], 1e-5);
  });
});

test("VQ-VAE matches its PyTorch twin: codes, reconstructions, losses and one EMA update with restarts", () => {
  const { tensors: f } = loadSafetensors(
    new URL("../../../test/fixtures/models/vq.safetensors", import.meta.url).pathname,
  );
  const get = (k: string): Tensor => f.get(k)!;
  const cfg: VQVAEConfig = { ...tiny, grid: 4, codes: 16, codeDim: 4, decay: 0.9, restartBelow: 1 };
  const m = new VQVAE(cfg, 1, 16);
  const state = new Map(
    [...f].filter(([k]) => k.startsWith("vqvae.")).map(([k, v]) => [k.slice(6), v] as [string, Tensor]),
  );
  m.loadStateDict(state);
  const x = get("vq.x");
  tidy(() => {
    assert.deepEqual(m.encode(x).toArray(), get("vq.codes").toArray());
    assertClose(m.decode(m.encode(x)).toArray(), get("vq.decoded").toArray(), 1e-5, "decoded");
    manualSeed(7); // the twin seeds the restarts' random picks the same way
    const { loss } = m.loss(x);
    assertClose([loss.item()], get("vq.loss").toArray(), 1e-5, "loss");
  });
  for (const k of ["size", "sum", "embed"])
    assertClose(m.stateDict().get(`vq.${k}`)!.toArray(), get(`vq.after.${k}`).toArray(), 1e-5, `after ${k}`);
  m.dispose();
  dispose(f);
});

test("the VQ-VAE's forward and loss leave no tensors behind", () => {
  const m = new VQVAE(tiny, 1, 16);
  const x = randn([4, 1, 16, 16]);
  assertNoLeak(() => tidy(() => void m.loss(x).loss.backward()));
  m.dispose();
  x.dispose();
});
