// The FID Inception port against PyTorch: tools/fid_inception_reference.py builds the same network with random
// weights, saves them as pytorch-fid's file would be saved (zip and legacy torch.save formats), and computes
// pool3 features and logits with pytorch-fid's preprocessing. The ~95 MB weights go to a temporary folder,
// never into the repository. Needs Debian's python3-torch (scripts/setup.sh installs it); set
// LASTFRAME_TORCH_PYTHON to use another Python with torch.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import * as T from "../../src/tensor/index.js";
import {
  FidInception,
  loadFidInception,
  inceptionInput,
  type InceptionWeights,
} from "../../src/eval/inception.js";
import { loadStateDict } from "../../src/eval/pth.js";
import { withoutBatchCounters } from "../../src/nn/index.js";
import { evaluate } from "../../src/eval/evaluate.js";
import { mkdirSync } from "node:fs";
import sharp from "sharp";

const python = process.env.LASTFRAME_TORCH_PYTHON ?? "/usr/bin/python3";
const script = fileURLToPath(new URL("../../../tools/fid_inception_reference.py", import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), "lastframe-inception-"));
let ref: Record<string, any>;
let weights: InceptionWeights;

before(() => {
  const r = spawnSync(python, [script, dir, "--seed", "3"], { encoding: "utf8" });
  if (r.status !== 0)
    throw new Error(
      `the PyTorch reference failed (${python} ${script}; install python3-torch or set LASTFRAME_TORCH_PYTHON): ${r.error?.message ?? r.stderr}`,
    );
  ref = JSON.parse(readFileSync(path.join(dir, "reference.json"), "utf8"));
  weights = loadFidInception(path.join(dir, "weights.pth"));
});

after(() => {
  weights?.net.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const f32 = (b64: string) => {
  const u = Buffer.from(b64, "base64");
  return new Float32Array(u.buffer.slice(u.byteOffset, u.byteOffset + u.length));
};

function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0,
    err = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
  return err / scale;
}

for (const kind of ["rgb", "grey"] as const) {
  test(`pool3 features and logits of ${kind} images match PyTorch`, () => {
    const images = T.fromTyped(new Uint8Array(Buffer.from(ref[kind].data, "base64")), ref[kind].shape);
    const [pool, logits] = T.noGrad(() =>
      T.tidy(() => {
        const p = weights.net.pool3(inceptionInput(images));
        return [p.data() as Float32Array, weights.net.logits(p).data() as Float32Array];
      }),
    );
    images.dispose();
    const want = f32(ref[`pool3_${kind}`]);
    assert.equal(pool.length, want.length);
    assert.ok(
      want.some((v) => v > 0.1),
      "the reference features are not degenerate",
    );
    const e1 = maxRelErr(pool, want),
      e2 = maxRelErr(logits, f32(ref[`logits_${kind}`]));
    assert.ok(e1 < 1e-4 && e2 < 1e-4, `max relative error: pool3 ${e1}, logits ${e2}`);
  });
}

test("the legacy-format file holds the same tensors as the zip-format one, under pytorch-fid's keys and shapes", () => {
  const zip = loadStateDict(path.join(dir, "weights.pth"));
  const legacy = loadStateDict(path.join(dir, "weights-legacy.pth"));
  const net = new FidInception();
  try {
    assert.deepEqual([...legacy.keys()], [...zip.keys()]);
    for (const [k, t] of zip)
      assert.ok(
        T.tidy(() => t.eq(legacy.get(k)!).all().item()),
        k,
      );
    const own = new Map(net.namedTensors().map(([k, t]) => [k, t.shape.join("x")]));
    const theirs = new Map([...withoutBatchCounters(zip)].map(([k, t]) => [k, t.shape.join("x")]));
    assert.deepEqual(own, theirs);
    assert.equal(own.size, 94 * 5 + 2, "94 conv layers with 4 batch-norm tensors each, plus fc");
    assert.equal(weights.standard, false, "random weights are not mistaken for the standard file");
    assert.match(weights.sha256, /^[0-9a-f]{64}$/);
  } finally {
    T.dispose([zip, legacy]);
    net.dispose();
  }
});

test("eval --metrics fid against pytorch-fid's statistics (.npz from numpy) of the same images is 0, of others positive", async () => {
  const folder = async (name: string, chw: Uint8Array) => {
    const out = path.join(dir, name);
    mkdirSync(out);
    for (let i = 0; i < 2; i++) {
      const hwc = T.tidy(
        () =>
          T.fromTyped(chw.subarray(i * 3072, (i + 1) * 3072), [3, 32, 32])
            .permute(1, 2, 0)
            .contiguous()
            .data() as Uint8Array,
      );
      await sharp(Buffer.from(hwc), { raw: { width: 32, height: 32, channels: 3 } })
        .png()
        .toFile(path.join(out, `${i}.png`));
    }
    return out;
  };
  const same = await folder("same", new Uint8Array(Buffer.from(ref.rgb.data, "base64")));
  T.manualSeed(5);
  const other = await folder(
    "other",
    T.tidy(() => T.randint(0, 256, [2 * 3072], { dtype: "uint8" }).data() as Uint8Array),
  );
  const o = {
    metrics: ["fid" as const],
    n: 2,
    inceptionWeights: path.join(dir, "weights.pth"),
    refStats: path.join(dir, "stats_rgb.npz"),
    progress: false,
  };
  const a = await evaluate(same, o);
  const b = await evaluate(other, o);
  assert.ok(b.fid!.value > 1, `FID of other images ${b.fid!.value}`);
  // Two samples in 2048 dimensions: singular covariances; float32 features agree to ~1e-6.
  assert.ok(
    Math.abs(a.fid!.value) < 1e-4 * b.fid!.value,
    `FID of the same images ${a.fid!.value} (other: ${b.fid!.value})`,
  );
  assert.deepEqual(
    [a.fid!.standard, a.fid!.sha256, a.n, a.refN, a.fid!.refStats],
    [false, weights.sha256, 2, 0, path.join(dir, "stats_rgb.npz")],
  );
});
