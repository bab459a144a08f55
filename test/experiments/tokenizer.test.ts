// compare's VQ rows: with the shared tokenizer (default) every row of a seed holds exactly the tokenizer's stage-1
// weights after training its prior (checksums of the runs' own EMA weights, not only what they recorded); with
// --tokenizer per-row each row trains a VQ-VAE of its own, as the earlier suites do.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { dispose } from "../../src/tensor/index.js";
import { readInitWeights, weightsChecksum } from "../../src/train/init.js";

const bin = fileURLToPath(new URL("../../../bin/lastframe.js", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
const root = mkdtempSync(join(tmpdir(), "lastframe-tok-"));
after(() => rmSync(root, { recursive: true, force: true }));
const suite = (out: string, ...extra: string[]) =>
  run(
    "experiment",
    "compare",
    "--preset",
    "smoke",
    "--models",
    "vqvae",
    "--seeds",
    "1",
    "--out",
    out,
    "--quiet",
    ...extra,
  );
const checksum = (from: string) => {
  const w = readInitWeights({ from, modules: ["vqvae."], sha256: "" });
  try {
    return weightsChecksum(w);
  } finally {
    dispose(w);
  }
};

test(
  "compare: rows sharing a tokenizer end with its exact stage-1 weights; --tokenizer per-row trains one per row",
  { timeout: 1_200_000 },
  () => {
    const shared = join(root, "shared");
    for (const name of ["vqvae-image-s0", "vqvae-expressive-t4-s0"]) {
      const r = suite(shared, "--only", name);
      assert.equal(r.status, 0, r.stderr);
    }
    const tokenizer = checksum(join(shared, "tokenizers", "vqvae-s0.safetensors"));
    for (const name of ["vqvae-image-s0", "vqvae-expressive-t4-s0"]) {
      assert.equal(checksum(join(shared, "runs", name)), tokenizer, name);
      const cfg = JSON.parse(readFileSync(join(shared, "runs", name, "config.json"), "utf8"));
      assert.equal(cfg.init.sha256, tokenizer);
    }

    const own = join(root, "per-row");
    const r = suite(own, "--tokenizer", "per-row", "--only", "vqvae-expressive-t4-s0");
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!existsSync(join(own, "tokenizers")));
    const dir = join(own, "runs", "vqvae-expressive-t4-s0");
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    assert.equal(cfg.init, null);
    const stages = new Set(
      readFileSync(join(dir, "metrics.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
        .filter((x) => x.type === "train")
        .map((x) => x.stage),
    );
    assert.deepEqual([...stages], ["vqvae", "prior"]);
    assert.notEqual(checksum(dir), tokenizer);
    assert.ok(JSON.parse(readFileSync(join(dir, "eval.json"), "utf8")).fd > 0);
    // The option belongs to compare.
    const wrong = run(
      "experiment",
      "main",
      "--preset",
      "smoke",
      "--tokenizer",
      "per-row",
      "--out",
      join(root, "m"),
    );
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /--tokenizer applies to the compare suite/);
  },
);
