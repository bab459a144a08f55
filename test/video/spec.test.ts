// The spec format: presets, schedules, marginal chains, JSON files, round trips and exact error messages.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type OpTerm, parseSpec, presetNames } from "../../src/video/index.js";
import { assertClose } from "../helpers.js";

const strengths = (spec: object, frames: number, i = 0) =>
  (parseSpec(spec, frames).ops[i] as OpTerm).strength as number[];

test("the presets the issue asks for exist, resolve for every T, and parse back to themselves", () => {
  for (const name of [
    "none",
    "noise-chain",
    "blur-chain",
    "independent",
    "momentum",
    "mixture",
    "expressive",
    "noise-control",
    "shuffle-control",
  ])
    assert.ok(presetNames.includes(name), name);
  for (const name of presetNames) {
    for (const frames of [1, 2, 3, 8]) {
      const spec = parseSpec(name, frames);
      assert.equal(spec.frames, name === "none" ? 1 : frames, name);
      const json = JSON.parse(JSON.stringify(spec));
      assert.deepEqual(parseSpec(json, spec.frames), spec, `${name} T=${frames} round trip`);
    }
  }
  assert.equal(parseSpec("noise-chain", 8).order, "chain");
  assert.equal(parseSpec("shuffle-control", 8).shuffle, true);
});

test("schedules: linear, cosine and geometric run from max at frame 1 to min at frame T - 1", () => {
  assertClose(strengths({ ops: [{ op: "noise", strength: { schedule: "linear", min: 0.2, max: 1 } }] }, 5), [
    1,
    0.2 + (0.8 * 2) / 3,
    0.2 + 0.8 / 3,
    0.2,
  ]);
  // Default min = max / (T - 1): evenly spaced down to the clean image.
  assertClose(strengths({ ops: [{ op: "noise" }] }, 5), [1, 0.75, 0.5, 0.25]);
  assertClose(
    strengths({ ops: [{ op: "blur", strength: { schedule: "geometric", min: 0.01, max: 1 } }] }, 4),
    [1, 0.1, 0.01],
  );
  const c = strengths({ ops: [{ op: "blur", strength: { schedule: "cosine", min: 0, max: 1 } }] }, 4);
  assertClose(c, [1, 1 - Math.cos(Math.PI / 4), 0]);
  assert.deepEqual(strengths({ ops: [{ op: "fade", strength: 0.3 }] }, 4), [0.3, 0.3, 0.3]);
  assert.deepEqual(strengths({ ops: [{ op: "fade", strength: [0.9, 0.5, 0.1] }] }, 4), [0.9, 0.5, 0.1]);
  assert.deepEqual(
    parseSpec({ ops: [{ op: "shift", strength: { schedule: "velocity", max: 0.1 }, draws: "video" }] }, 4)
      .ops[0],
    {
      op: "shift",
      strength: { schedule: "velocity", min: 0, max: 0.1 },
      jitter: 0,
      draws: "video",
      params: { distance: 0.5, padding: "zeros" },
    },
  );
});

test("marginal chains become per-step strengths whose composition is the schedule", () => {
  const noise = strengths(
    { order: "chain", ops: [{ op: "noise", strength: [1, 0.6, 0.3], marginal: true }] },
    4,
  );
  // Signal levels multiply along the chain: cos(πs/2) of the marginal = product of the steps' cosines.
  const cos = (s: number) => Math.cos((Math.PI / 2) * s);
  assertClose([cos(noise[2]!), cos(noise[2]!) * cos(noise[1]!)], [cos(0.3), cos(0.6)], 1e-12);
  assert.equal(noise[0], 1);
  const blur = strengths(
    { order: "chain", ops: [{ op: "blur", strength: [0.5, 0.4, 0.3], marginal: true }] },
    4,
  );
  assertClose(blur, [0.3, Math.sqrt(0.16 - 0.09), 0.3], 1e-12);
});

test("specs load from .json files and a spec without operators is the plain image", () => {
  const dir = mkdtempSync(join(tmpdir(), "lastframe-spec-"));
  const file = join(dir, "mine.json");
  writeFileSync(
    file,
    JSON.stringify({ ops: [{ op: "pixelate", strength: { schedule: "linear", max: 0.8 } }], shuffle: true }),
  );
  const spec = parseSpec(file, 3);
  assert.equal(spec.name, "mine");
  assert.equal(spec.shuffle, true);
  assertClose((spec.ops[0] as OpTerm).strength as number[], [0.8, 0.4]);
  assert.equal(parseSpec({ ops: [] }, 8).frames, 1);
  assert.equal(parseSpec("none", 8).frames, 1);
  writeFileSync(file, "{ ops: ");
  assert.throws(() => parseSpec(file, 3), /^ArgumentError: Spec file .*mine\.json is not valid JSON: /);
});

test("validation errors name the key and the value", () => {
  const cases: [unknown, number, string][] = [
    [
      "expressiv",
      8,
      'Expected a preset (none, noise-chain, blur-chain, independent, momentum, mixture, expressive, noise-control, shuffle-control) or the path of a .json file for spec but received "expressiv" (string)',
    ],
    ["expressive", 0, "Expected positive integer for frames but received 0 (number)"],
    [
      { ops: [{ op: "xyz" }] },
      4,
      'Expected an operator (noise, blur, pixelate, mask, desaturate, fade, shift, zoom, rotate, mix) for spec.ops[0].op but received "xyz" (string)',
    ],
    [
      { ops: [{ op: "noise", strength: [1, 1.3, 0.5] }] },
      4,
      "Expected strength in [0, 1] for spec.ops[0].strength[1] but received 1.3 (number)",
    ],
    [
      { ops: [{ op: "noise", strength: [1, 0.5] }] },
      4,
      "Expected 3 strengths (frames 1 … 3) for spec.ops[0].strength but received [1, 0.5] (array)",
    ],
    [
      { ops: [{ op: "noise", strenght: 1 }] },
      4,
      'Unknown key "strenght" in spec.ops[0] (valid: op, strength, jitter, draws, marginal, params)',
    ],
    [
      { ops: [{ op: "blur", params: { sigma: -1 } }] },
      4,
      "Expected number in [0, 10] for spec.ops[0].params.sigma but received -1 (number)",
    ],
    [
      { ops: [{ op: "noise", strength: { schedule: "log" } }] },
      4,
      'Expected one of linear, cosine, geometric, velocity for spec.ops[0].strength.schedule but received "log" (string)',
    ],
    [
      { ops: [{ op: "noise", strength: { schedule: "geometric", min: 0 } }] },
      4,
      "Expected min and max above 0 for a geometric schedule for spec.ops[0].strength but received 0 (number)",
    ],
    [
      { ops: [{ op: "mix", of: [] }] },
      4,
      "Expected a non-empty array of operators for spec.ops[0].of but received [] (array)",
    ],
    [
      { ops: [{ op: "mix", of: [{ op: "noise" }, { op: "blur" }], weights: [1, 0] }] },
      4,
      "Expected 2 positive numbers for spec.ops[0].weights but received [1, 0] (array)",
    ],
    [
      { order: "chain", ops: [{ op: "noise", draws: "video" }] },
      4,
      'Expected "frame" in a chain (draws shared by all frames carry hidden state and break the first-order Markov property) for spec.ops[0].draws but received "video" (string)',
    ],
    [
      { order: "chain", ops: [{ op: "shift", strength: { schedule: "velocity", max: 0.1 } }] },
      4,
      "spec.ops[0].strength: a velocity carries hidden state from frame to frame, so a chain cannot use one",
    ],
    [
      { ops: [{ op: "noise", marginal: true }] },
      4,
      'spec.ops[0].marginal applies only to chains (order "chain")',
    ],
    [
      { order: "chain", ops: [{ op: "mask", marginal: true }] },
      4,
      "spec.ops[0].marginal: mask steps do not compose; only noise and blur support marginal schedules",
    ],
    [
      { order: "chain", ops: [{ op: "noise", strength: [0.2, 0.5, 0.1], marginal: true }] },
      4,
      "Expected marginal strengths that never fall from frame T - 1 to frame 1 for spec.ops[0].strength but received [0.2, 0.5, 0.1] (array)",
    ],
    [{ frames: 6, ops: [{ op: "noise" }] }, 8, "The spec has frames 6 but frames is 8"],
    [
      { order: "sideways" },
      4,
      'Expected one of direct, chain for spec.order but received "sideways" (string)',
    ],
    [{ op: "noise" }, 4, 'Unknown key "op" in spec (valid: name, frames, order, ops, shuffle)'],
    [
      { ops: [{ op: "noise", jitter: 2 }] },
      4,
      "Expected number in [0, 1] for spec.ops[0].jitter but received 2 (number)",
    ],
  ];
  for (const [spec, frames, message] of cases)
    assert.throws(() => parseSpec(spec as object, frames), { name: "ArgumentError", message });
});
