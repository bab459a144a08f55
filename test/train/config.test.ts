// Run configs (src/train/config.ts): precedence, a run's config.json as a --config, and errors naming the key.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { ImageSet } from "../../src/data/types.js";
import {
  completeWithData,
  configDifferences,
  configFingerprint,
  mergeInputs,
  modelShape,
  readConfigFile,
  readRunConfig,
  readSavedConfig,
  resolveRunConfig,
} from "../../src/train/config.js";

const root = mkdtempSync(join(tmpdir(), "lastframe-config-"));
after(() => rmSync(root, { recursive: true, force: true }));
const mnistLike: ImageSet = {
  images: new Uint8Array(0),
  n: 0,
  c: 1,
  h: 28,
  w: 28,
  labels: null,
  classes: null,
};

test("flags over config file over the family's preset defaults over the loop's", () => {
  const cfg = resolveRunConfig(
    mergeInputs({ data: "mnist", preset: "tiny", train: { lr: 0.01, batch: 8 } }, { train: { lr: 0.02 } }),
  );
  assert.equal(cfg.train.lr, 0.02);
  assert.equal(cfg.train.batch, 8);
  assert.equal(cfg.train.emaDecay, 0.99, "hvae's tiny preset");
  assert.equal(cfg.train.gradClip, 200, "the loop's default");
  assert.equal(cfg.spec.name, "none");
  assert.equal(cfg.frames, 1);
  assert.equal(cfg.log.evalEvery, 200, "steps / 5");
});

test("a run's config.json resolves back to itself; the shape pads 28 → 32", () => {
  const cfg = resolveRunConfig({
    data: "mnist",
    preset: "tiny",
    spec: "expressive",
    frames: 4,
    framesAsImages: true,
    train: { steps: 7 },
  });
  assert.deepEqual(completeWithData(cfg, mnistLike), { channels: 1, size: 32, frames: 1, pad: 2 });
  const file = join(root, "config.json");
  writeFileSync(file, JSON.stringify({ ...cfg, provenance: { lastframe: "0" } }));
  const again = resolveRunConfig(readConfigFile(file));
  completeWithData(again, mnistLike);
  assert.deepEqual(configDifferences(cfg, again), []);
  assert.deepEqual(modelShape(again), { channels: 1, size: 32, frames: 1, pad: 2 });
  assert.deepEqual(configDifferences(cfg, { ...again, frames: 5, train: { ...again.train, seed: 9 } }), [
    "frames: 4 in the run, 5 requested",
    "train.seed: 0 in the run, 9 requested",
  ]);
});

test("configFingerprint: the same before and after the data fills in its shape; any weight setting changes it", () => {
  const input = { data: "mnist", preset: "tiny", spec: "noise-control", frames: 4, train: { steps: 7 } };
  const cfg = resolveRunConfig(input);
  const before = configFingerprint(cfg);
  assert.match(before, /^[0-9a-f]{12}$/);
  completeWithData(cfg, mnistLike);
  const logged = { ...cfg, log: { ...cfg.log, sampleEvery: 1 }, provenance: { written: "now" } };
  assert.equal(configFingerprint(logged), before, "data shape, log and provenance do not train the weights");
  // Key order is not a difference (config.json written by another version may order keys otherwise).
  const reordered = Object.fromEntries(Object.entries(cfg).reverse()) as typeof cfg;
  assert.equal(configFingerprint(reordered), before);
  const strength = structuredClone(cfg);
  // The same spec name with other strengths: what a redefined preset leaves in an old run's config.
  (strength.spec.ops[1] as { strength: number[] }).strength[0] = 0.9;
  const changed = [
    strength,
    resolveRunConfig({ ...input, train: { steps: 7, seed: 1 } }),
    resolveRunConfig({ ...input, hps: { zdim: 3 } }),
    resolveRunConfig({ ...input, data: { name: "mnist", limit: 100 } }),
    resolveRunConfig({ ...input, framesAsImages: true }),
  ].map(configFingerprint);
  assert.equal(new Set([before, ...changed]).size, 6, changed.join(" "));
});

test("unknown keys and wrong types name the key", () => {
  const bad = join(root, "bad.json");
  writeFileSync(bad, JSON.stringify({ model: "hvae", trian: {} }));
  assert.throws(() => readConfigFile(bad), {
    message: `Unknown key "trian" in config file ${bad}. Valid keys: model, preset, hps, data, spec, frames, framesAsImages, init, train, log, provenance`,
  });
  assert.throws(() => resolveRunConfig({ data: "mnist", train: { lr: "fast" as unknown as number } }), {
    message: 'Expected number for train.lr but received "fast" (string)',
  });
  assert.throws(
    () => resolveRunConfig({ data: "mnist", train: { momentum: 1 } as object }),
    /^ArgumentError: Unknown setting train.momentum. Valid: seed, batch/,
  );
  assert.throws(() => resolveRunConfig({ data: "mnist", hps: { width: "wide" } }), {
    message: 'Expected number for hps.width but received "wide" (string)',
  });
  assert.throws(
    () => completeWithData(resolveRunConfig({ data: { name: "mnist", channels: 3 } }), mnistLike),
    {
      message: "Expected 1 (what mnist holds) for data.channels but received 3 (number)",
    },
  );
});

test("frames are bounded, and a run whose inputs alone would not fit in memory is refused before allocating", async () => {
  assert.throws(() => resolveRunConfig({ data: "mnist", spec: "expressive", frames: 100_000 }), {
    name: "ArgumentError",
    message:
      "Expected at most 64 (the longest pseudo video lastframe makes) for frames but received 100000 (number)",
  });
  const big = resolveRunConfig({ data: "mnist", spec: "expressive", frames: 64, train: { batch: 100_000 } });
  assert.throws(() => completeWithData(big, mnistLike), {
    name: "ArgumentError",
    message:
      /^batch 100000 × 64 frames × 1×32×32 pixels needs at least \d+ GB to train \(about 4 KiB per input value\), more than this machine's \d+ GB: lower --batch or --frames$/,
  });
  const fits = resolveRunConfig({ data: "mnist", spec: "expressive", frames: 64, train: { batch: 8 } });
  assert.equal(completeWithData(fits, mnistLike).frames, 64);
  // The CLI prints the one line and exits 2, writing nothing.
  const { main } = await import("../../src/cli/main.js");
  const out = join(root, "too-long");
  const error = console.error;
  let printed = "";
  console.error = (m: string) => void (printed += `${m}\n`);
  try {
    assert.equal(
      await main(["train", "--data", "mnist", "--spec", "expressive", "--frames", "100000", "--out", out]),
      2,
    );
  } finally {
    console.error = error;
  }
  assert.match(
    printed,
    /^lastframe train: Expected at most 64 .* for frames but received 100000 \(number\)\n$/,
  );
  assert.equal(existsSync(out), false);
});

test("a run's config.json is checked when read back: the error names the file, key and value", () => {
  const cfg = resolveRunConfig({ data: "mnist", preset: "tiny", train: { steps: 7 } });
  completeWithData(cfg, mnistLike);
  const file = join(root, "saved.json");
  const write = (v: unknown) => writeFileSync(file, JSON.stringify(v));
  const saved = { ...cfg, provenance: { lastframe: "0" } };
  write(saved);
  assert.deepEqual(readRunConfig(file), saved);
  // A run written before data.validation, train.selectBest, init and framesAsImages existed: read as it is, and
  // as a RunConfig with their neutral defaults (what it trained with).
  const old: Partial<typeof cfg> & Record<string, unknown> = structuredClone(cfg);
  delete old.init;
  delete old.framesAsImages;
  delete (old.data as Partial<typeof cfg.data>).validation;
  delete (old.train as Partial<typeof cfg.train>).selectBest;
  write(old);
  assert.deepEqual(readSavedConfig(file), old);
  assert.deepEqual(readRunConfig(file), cfg);
  const cases: [unknown, string | RegExp][] = [
    [
      { ...cfg, train: { ...cfg.train, steps: -1 } },
      `${file}: Expected positive integer for train.steps but received -1 (number)`,
    ],
    [
      { ...cfg, train: { ...cfg.train, beta2: 1 } },
      `${file}: Expected a number in [0, 0.999999] for train.beta2 but received 1 (number)`,
    ],
    [
      { ...cfg, data: { ...cfg.data, pad: 1.5 } },
      `${file}: Expected -1 (from the data) or a non-negative integer for data.pad but received 1.5 (number)`,
    ],
    [
      { ...cfg, data: { ...cfg.data, limit: "all" } },
      `${file}: Expected a positive integer or null for data.limit but received "all" (string)`,
    ],
    [{ ...cfg, model: 3 }, `${file}: Expected a name (string) for model but received 3 (number)`],
    [
      { ...cfg, log: { ...cfg.log, every: 3 } },
      /^.*saved\.json: Unknown setting log\.every\. Valid: evalEvery, /,
    ],
    [{ ...cfg, trian: {} }, /^Unknown key "trian" in .*saved\.json\. Valid keys: model, preset, hps, /],
    [
      { ...cfg, spec: { ...cfg.spec, ops: [{ op: "xyz" }] } },
      /^.*saved\.json: Expected an operator \(noise, .*\) for spec\.ops\[0\]\.op but received "xyz" \(string\)$/,
    ],
    [[1, 2], `${file}: Expected an object for the value but received [1, 2] (array)`],
  ];
  for (const [value, message] of cases) {
    write(value);
    assert.throws(() => readRunConfig(file), { name: "CheckpointError", message });
  }
  writeFileSync(file, '{"model": "hv');
  assert.throws(() => readRunConfig(file), {
    name: "CheckpointError",
    message: `${file} is not valid JSON (truncated or edited?)`,
  });
});

test("a --config file is checked section by section when read, naming the file", () => {
  const file = join(root, "partial.json");
  writeFileSync(file, JSON.stringify({ train: { lr: -1 } }));
  assert.throws(() => readConfigFile(file), {
    name: "ArgumentError",
    message: `config file ${file}: Expected a positive number for train.lr but received -1 (number)`,
  });
  writeFileSync(file, JSON.stringify({ init: { from: "", modules: ["vqvae."] } }));
  assert.throws(() => readConfigFile(file), {
    message: `config file ${file}: Expected a run folder or .safetensors file for init.from but received "" (string)`,
  });
  writeFileSync(file, JSON.stringify({ data: 7 }));
  assert.throws(() => readConfigFile(file), {
    message: `config file ${file}: Expected a data set name, a path or an object for data but received 7 (number)`,
  });
  writeFileSync(file, JSON.stringify({ data: { name: "mnist", limt: 5 } }));
  assert.throws(() => readConfigFile(file), {
    message: /^config file .*partial\.json: Unknown setting data\.limt\. Valid: name, flip, limit, /,
  });
  // What a file leaves out comes from the defaults, which pass the same checks.
  writeFileSync(file, JSON.stringify({ data: "mnist", train: { stageSteps: { prior: 0 } } }));
  assert.equal(resolveRunConfig(readConfigFile(file)).train.stageSteps.prior, 0);
});
