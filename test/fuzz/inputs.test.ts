// A fuzzer over the readers of untrusted files: it mutates valid safetensors, .pth (zip and legacy), state.json,
// config.json and spec JSON inputs (bit flips, interesting bytes, truncation, size fields, JSON values replaced
// and nested deeply) and asserts that each is either accepted or refused with a one-line lastframe error that
// names the file — never a TypeError, RangeError or SyntaxError escaping — with resident memory bounded. The
// seed is fixed, so a failure names an input that reproduces; the counts are printed.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { readNpzStats, writeNpzStats } from "../../src/eval/npz.js";
import { decodeStateDict } from "../../src/eval/pth.js";
import { decodeSafetensors, encodeSafetensors } from "../../src/nn/index.js";
import * as T from "../../src/tensor/index.js";
import { readCheckpoint, saveCheckpoint } from "../../src/train/checkpoint.js";
import { readConfigFile, resolveRunConfig } from "../../src/train/config.js";
import { mulberry32 } from "../../src/util/random.js";
import { parseSpec } from "../../src/video/index.js";
import { makePth, op, statePickle, tensorRef } from "../eval/pth-build.js";

const root = mkdtempSync(join(tmpdir(), "lastframe-fuzz-"));
after(() => rmSync(root, { recursive: true, force: true }));

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x22, 0x7b, 0x5d, 0x2e];
const INTERESTING_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 1 << 20];

/** One byte-level mutation of `buf`: flips, interesting bytes, truncation, or a size field overwritten. */
function mutateBytes(buf: Buffer, r: () => number): Buffer {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const out = Buffer.from(buf);
  const at = () => Math.floor(r() * out.length);
  switch (Math.floor(r() * 5)) {
    case 0:
      for (let i = 1 + Math.floor(r() * 8); i > 0; i--) out[at()] ^= 1 << Math.floor(r() * 8);
      return out;
    case 1:
      for (let i = 1 + Math.floor(r() * 4); i > 0; i--) out[at()] = pick(INTERESTING_BYTES);
      return out;
    case 2:
      return out.subarray(0, at());
    case 3: {
      const p = Math.min(at(), out.length - 4);
      if (p >= 0) out.writeUInt32LE(pick(INTERESTING_U32), p);
      return out;
    }
    default: {
      // Size fields of both formats sit at the start (safetensors' header length) or near the end (zip records).
      const p = r() < 0.5 ? 0 : Math.max(0, out.length - 22 + Math.floor(r() * 14));
      if (p + 8 <= out.length)
        out.writeBigUInt64LE(BigInt(pick(INTERESTING_U32)) * BigInt(pick([1, 2 ** 20])), p);
      return out;
    }
  }
}

const INTERESTING_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  2 ** 53,
  1e308,
  -1e308,
  "",
  "x",
  "../../etc/passwd",
  [],
  {},
  [1, 2, 3],
  { __proto__: 1 },
  "a".repeat(10_000),
];

// A placeholder for 100,000 nested arrays, spliced into the text after JSON.stringify (which, like
// structuredClone, recurses and could not write them). JSON.parse is iterative; checks of the parsed value
// must not recurse without a bound either.
const DEEP = "\u0000deep";
const deepText = "[".repeat(100_000) + "]".repeat(100_000);

/** One structural mutation of a JSON value: a random node replaced by an interesting value, or deleted. */
function mutateJson(value: unknown, r: () => number): unknown {
  const copy = structuredClone(value);
  const nodes: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v))
      v.forEach((x, i) => {
        nodes.push([v, i]);
        walk(x);
      });
    else if (v !== null && typeof v === "object")
      for (const k of Object.keys(v)) {
        nodes.push([v as Record<string, unknown>, k]);
        walk((v as never)[k]);
      }
  };
  walk(copy);
  if (nodes.length === 0 || r() < 0.05)
    return INTERESTING_VALUES[Math.floor(r() * INTERESTING_VALUES.length)];
  const [parent, key] = nodes[Math.floor(r() * nodes.length)]!;
  const roll = r();
  const set = (v: unknown) => ((parent as Record<string | number, unknown>)[key] = v);
  if (roll < 0.1) delete (parent as Record<string | number, unknown>)[key];
  else if (roll < 0.15) set(DEEP);
  else set(INTERESTING_VALUES[Math.floor(r() * INTERESTING_VALUES.length)]);
  return copy;
}

/** JSON text of a mutated value, with the DEEP placeholder expanded. */
const jsonText = (v: unknown) =>
  Buffer.from((JSON.stringify(v) ?? "").replace(JSON.stringify(DEEP), deepText));

/** Text mutations of JSON: the structural ones, or the bytes of its text. */
function mutateJsonText(value: unknown, r: () => number): Buffer {
  return r() < 0.6
    ? jsonText(mutateJson(value, r))
    : mutateBytes(Buffer.from(JSON.stringify(value, null, 2)), r);
}

const LASTFRAME_ERRORS = ["ArgumentError", "CheckpointError", "DataError"];

interface Tally {
  tried: number;
  accepted: number;
  refused: number;
  peakRssGrowthMb: number;
}

/**
 * Feeds `count` mutants to `read`: each must return (its result is disposed) or throw a one-line lastframe
 * error (naming `name` when `named`: file readers do; config and spec errors name the field instead);
 * resident memory may not grow by more than `maxGrowthMb` over the run.
 */
function fuzz(
  name: string,
  count: number,
  seed: number,
  mutant: (r: () => number) => Buffer,
  read: (bytes: Buffer) => unknown,
  named: boolean,
  maxGrowthMb = 300,
): Tally {
  const r = mulberry32(seed); // a seeded generator: every run tries the same inputs
  const tally: Tally = { tried: 0, accepted: 0, refused: 0, peakRssGrowthMb: 0 };
  const base = process.memoryUsage.rss();
  const live = T.liveTensors();
  for (let i = 0; i < count; i++) {
    const bytes = mutant(r);
    tally.tried++;
    try {
      T.dispose(read(bytes) as never);
      tally.accepted++;
    } catch (e) {
      const err = e as Error;
      const where = `${name} mutant ${i} (seed ${seed}, ${bytes.length} bytes)`;
      assert.ok(LASTFRAME_ERRORS.includes(err.name), `${where}: ${err.name} escaped: ${err.stack}`);
      assert.doesNotMatch(
        err.message,
        /\n/,
        `${where}: a message of several lines: ${err.message.slice(0, 300)}`,
      );
      if (named) assert.ok(err.message.includes(name), `${where}: the file is not named in ${err.message}`);
      tally.refused++;
    }
    const growth = (process.memoryUsage.rss() - base) / 2 ** 20;
    tally.peakRssGrowthMb = Math.max(tally.peakRssGrowthMb, Math.round(growth));
    assert.ok(growth < maxGrowthMb, `${name} mutant ${i}: resident memory grew by ${growth.toFixed(0)} MB`);
  }
  assert.equal(T.liveTensors(), live, `${name}: tensors leaked`);
  console.log(
    `fuzz ${name}: ${tally.tried} inputs, ${tally.accepted} accepted, ${tally.refused} refused, ` +
      `peak RSS growth ${tally.peakRssGrowthMb} MB`,
  );
  return tally;
}

const fixture = (file: string) =>
  readFileSync(fileURLToPath(new URL(`../../../test/fixtures/eval/${file}`, import.meta.url)));

test("fuzz: safetensors", () => {
  const valid = encodeSafetensors(
    new Map([
      ["a.weight", T.ones([2, 3])],
      ["a.bias", T.zeros([3], { dtype: "float64" })],
      ["steps", T.ones([2], { dtype: "int64" })],
    ]),
    { format: "pt" },
  );
  const header = JSON.parse(valid.subarray(8, 8 + Number(valid.readBigUInt64LE(0))).toString());
  const data = valid.subarray(8 + Number(valid.readBigUInt64LE(0)));
  fuzz(
    "fuzz.safetensors",
    3000,
    1,
    (r) => {
      if (r() < 0.5) return mutateBytes(valid, r);
      const json = jsonText(mutateJson(header, r));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      return Buffer.concat([len, json, data]);
    },
    (bytes) => decodeSafetensors(bytes, "fuzz.safetensors").tensors,
    true,
  );
});

test("fuzz: .pth (torch.save's zip and legacy formats, and hand-built pickles)", () => {
  const files = [fixture("state.pth"), fixture("state-legacy.pth")];
  const pickle = statePickle([
    ["w", tensorRef({ numel: 6, size: [op.int(2), op.int(3)], stride: [op.int(3), op.int(1)] })],
    ["t", tensorRef({ numel: 6, size: [op.int(3), op.int(2)], stride: [op.int(1), op.int(3)] })],
  ]);
  const storages = { "0": Buffer.from(new Float32Array(6).buffer) };
  const inputs = [...files, makePth(pickle, storages, true)];
  fuzz(
    "fuzz.pth",
    6000,
    2,
    // A third of the mutants change only the pickle, inside an intact archive.
    (r) =>
      r() < 0.33
        ? makePth(mutateBytes(pickle, r), storages)
        : mutateBytes(inputs[Math.floor(r() * inputs.length)]!, r),
    (bytes) => decodeStateDict(bytes, "fuzz.pth"),
    true,
  );
});

test("fuzz: .npz statistics", () => {
  const file = join(root, "stats.npz");
  const dims = 4;
  const sigma = Float64Array.from({ length: dims * dims }, (_, i) => (i % (dims + 1) === 0 ? 1 : 0));
  writeNpzStats(file, { n: 10, dims, mu: new Float64Array(dims), sigma });
  const valid = readFileSync(file);
  fuzz(
    file,
    1500,
    6,
    (r) => mutateBytes(valid, r),
    (bytes) => {
      writeFileSync(file, bytes);
      return readNpzStats(file) && undefined;
    },
    true,
  );
});

test("fuzz: config.json", () => {
  const valid = resolveRunConfig({ data: "mnist", preset: "tiny", spec: "expressive", frames: 4 });
  const file = join(root, "config.json");
  fuzz(
    file,
    1500,
    3,
    (r) => mutateJsonText(valid, r),
    (bytes) => {
      writeFileSync(file, bytes);
      return resolveRunConfig(readConfigFile(file)) && undefined;
    },
    false,
  );
});

test("fuzz: spec JSON", () => {
  const valid = parseSpec("expressive", 4);
  const file = join(root, "spec.json");
  fuzz(
    file,
    1500,
    4,
    (r) => mutateJsonText(valid, r),
    (bytes) => {
      writeFileSync(file, bytes);
      return parseSpec(file, 4) && undefined;
    },
    false,
  );
});

test("fuzz: a checkpoint's state.json", () => {
  const run = join(root, "run");
  mkdirSync(run, { recursive: true });
  const small = () => new Map([["w", T.ones([2])]]);
  const state = {
    step: 3,
    stage: "train",
    stageStep: 3,
    skipped: 0,
    badInARow: 0,
    loader: { epoch: 0, batch: 3 },
    optimizer: { step: 3, lr: 0.001 },
    rng: "AAAA",
    seconds: 1.5,
  } as unknown as Parameters<typeof saveCheckpoint>[1];
  const folder = saveCheckpoint(run, state, { model: small(), ema: small(), optim: small() });
  const stateFile = join(folder, "state.json");
  const valid = JSON.parse(readFileSync(stateFile, "utf8"));
  // Refusals name state.json or the tensor file whose checksum it no longer matches: the folder either way.
  fuzz(
    folder,
    1500,
    5,
    (r) => mutateJsonText(valid, r),
    (bytes) => {
      writeFileSync(stateFile, bytes);
      const { tensors } = readCheckpoint(folder);
      return [tensors.model, tensors.ema, tensors.optim];
    },
    true,
  );
});
