// pytorch-fid statistics files (.npz with mu and sigma): numpy reads what lastframe writes, and lastframe reads
// what numpy writes (float32/float64, C and Fortran order, stored and deflated entries).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { readNpzStats, writeNpzStats } from "../../src/eval/npz.js";

const python = process.env.LASTFRAME_TORCH_PYTHON ?? "/usr/bin/python3";
const dir = mkdtempSync(path.join(tmpdir(), "lastframe-npz-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function py(code: string): string {
  const r = spawnSync(python, ["-c", code], { encoding: "utf8" });
  if (r.status !== 0)
    throw new Error(`${python} failed (numpy comes with python3-torch): ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

test("numpy reads the statistics lastframe writes", () => {
  const file = path.join(dir, "ours.npz");
  const sigma = Float64Array.from([2, 0.5, -1e-300, 0.5, 3, 0.25, -1e-300, 0.25, 1 / 3]);
  writeNpzStats(file, { n: 10, dims: 3, mu: Float64Array.from([1.5, -2, Math.PI]), sigma });
  const out = JSON.parse(
    py(
      `import numpy as np, json; f = np.load(${JSON.stringify(file)}); print(json.dumps({k: [str(f[k].dtype), list(f[k].shape), f[k].flatten().tolist()] for k in f.files}))`,
    ),
  );
  assert.deepEqual(out, { mu: ["float64", [3], [1.5, -2, Math.PI]], sigma: ["float64", [3, 3], [...sigma]] });
});

test("lastframe reads numpy's .npz files: float32, Fortran order, compressed", () => {
  const file = (name: string) => path.join(dir, name);
  py(
    "import numpy as np\n" +
      "s = np.arange(16.0).reshape(4, 4)\n" +
      `np.savez(${JSON.stringify(file("f32.npz"))}, mu=np.arange(4, dtype=np.float32) / 4, sigma=np.asfortranarray(s).astype(np.float32))\n` +
      `np.savez_compressed(${JSON.stringify(file("zip.npz"))}, mu=np.arange(4.0), sigma=s)\n`,
  );
  const expected = Float64Array.from({ length: 16 }, (_, i) => i);
  for (const name of ["f32.npz", "zip.npz"]) {
    const s = readNpzStats(file(name));
    assert.equal(s.dims, 4);
    assert.deepEqual([...s.sigma], [...expected], name);
  }
  assert.deepEqual([...readNpzStats(file("f32.npz")).mu], [0, 0.25, 0.5, 0.75]);
});

test("statistics files without mu and sigma, or with mismatched shapes, are refused by name", () => {
  const bad = path.join(dir, "bad.npz");
  py(`import numpy as np; np.savez(${JSON.stringify(bad)}, mean=np.zeros(3), sigma=np.eye(3))`);
  assert.throws(
    () => readNpzStats(bad),
    new RegExp(`${bad} has no array mu \\(pytorch-fid statistics hold mu and sigma\\)`),
  );
  const odd = path.join(dir, "odd.npz");
  py(`import numpy as np; np.savez(${JSON.stringify(odd)}, mu=np.zeros(3), sigma=np.eye(2))`);
  assert.throws(
    () => readNpzStats(odd),
    /odd\.npz: mu has shape \(3\) and sigma \(2,2\); expected \(D\) and \(D, D\)/,
  );
  const text = path.join(dir, "text.npz");
  writeFileSync(text, "not a zip");
  assert.throws(() => readNpzStats(text), /text\.npz is not a readable zip archive/);
});

test("a shape that is not a tuple of counts is refused, even when mu and sigma agree", () => {
  const file = path.join(dir, "nan-shape.npz");
  writeNpzStats(file, { n: 1, dims: 2, mu: new Float64Array(2), sigma: new Float64Array([1, 0, 0, 1]) });
  const text = readFileSync(file).toString("latin1").replace("(2,)", "(x,)").replace("(2, 2)", "(x, x)");
  writeFileSync(file, Buffer.from(text, "latin1"));
  assert.throws(() => readNpzStats(file), {
    name: "CheckpointError",
    message: `${file}:mu.npy is not a readable .npy array: its shape (x,) is not a tuple of non-negative integers`,
  });
});
