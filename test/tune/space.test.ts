// Search spaces: every sampled point is a valid spec that parses back to itself, a one-point space gives its
// point, sampling is a function of (seed, index), and mistakes are one-line errors naming the key.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type OpTerm, type VideoSpec, parseSpec } from "../../src/video/index.js";
import {
  parseSpace,
  randAugmentSpec,
  samplePoint,
  spacePresetNames,
  trivialAugmentSpec,
} from "../../src/tune/space.js";
import { assertClose } from "../helpers.js";

const opsOf = (spec: VideoSpec) => spec.ops.flatMap((t) => (t.op === "mix" ? t.of : [t]));

test("every point of every preset space, over 400 seeds, is a valid spec that parses back to itself", () => {
  assert.deepEqual(spacePresetNames, ["basic", "wide"]);
  for (const name of spacePresetNames) {
    const space = parseSpace(name);
    const seen = new Set<string>();
    let chains = 0;
    for (let seed = 0; seed < 400; seed++) {
      const spec = samplePoint(space, seed, seed % 7);
      assert.deepEqual(
        parseSpec(JSON.parse(JSON.stringify(spec)), spec.frames),
        spec,
        `${name} seed ${seed}`,
      );
      assert.ok(space.frames.includes(spec.frames));
      assert.ok(spec.ops.length >= space.terms[0] && spec.ops.length <= space.terms[1]);
      const ops = opsOf(spec).map((o) => o.op);
      assert.equal(new Set(ops).size, ops.length, "an operator at most once per point");
      for (const o of opsOf(spec)) {
        const r = space.ops[o.op]!;
        const s = o.strength;
        // Before a chain's marginal→step conversion, strengths lie in the space's ranges; a velocity's speed
        // times T - 1 does too.
        const top = Math.max(r.max[1], r.min[1]) + 1e-9;
        if (!Array.isArray(s)) assert.ok(s.min <= s.max && s.max * (spec.frames - 1) <= top);
        else if (spec.order === "direct") {
          for (const v of s) assert.ok(v >= 0 && v <= top, `${o.op} ${v}`);
          // monotone: frame 1 is the most corrupted
          assert.ok(s[0]! >= s[s.length - 1]! - 1e-12);
        }
      }
      if (spec.order === "chain") chains++;
      seen.add(JSON.stringify(spec.ops));
    }
    assert.ok(seen.size > 390, `${name}: ${seen.size} distinct points of 400`);
    if (name === "wide") assert.ok(chains > 100 && chains < 300, `wide: ${chains} chains of 400`);
  }
});

test("a point is a function of (seed, index); other seeds and indices give other points", () => {
  const space = parseSpace("basic");
  assert.deepEqual(samplePoint(space, 3, 5), samplePoint(parseSpace("basic"), 3, 5));
  assert.notDeepEqual(samplePoint(space, 3, 5).ops, samplePoint(space, 3, 6).ops);
  assert.notDeepEqual(samplePoint(space, 3, 5).ops, samplePoint(space, 4, 5).ops);
  assert.equal(samplePoint(space, 3, 5).name, "basic-5");
});

test("a space with a single point returns it, for any seed", () => {
  const space = parseSpace({
    name: "one",
    frames: 5,
    terms: 2,
    ops: { blur: { max: 0.6, min: 0.05, params: { sigma: 0.4 } }, noise: { max: 0.3, min: 0.1 } },
    schedules: "geometric",
    jitter: 0.2,
  });
  const expected = parseSpec(
    {
      name: "one-0",
      ops: [
        {
          op: "blur",
          strength: { schedule: "geometric", min: 0.05, max: 0.6 },
          jitter: 0.2,
          params: { sigma: 0.4 },
        },
        { op: "noise", strength: { schedule: "geometric", min: 0.1, max: 0.3 }, jitter: 0.2 },
      ],
    },
    5,
  );
  for (let seed = 0; seed < 20; seed++) assert.deepEqual(samplePoint(space, seed, 0), expected);
  // A one-point mix: both operators in one term, with fixed weights.
  const mix = parseSpace({
    ops: { mask: { max: 0.5, min: 0.5 }, fade: { max: 0.5, min: 0.5 } },
    mix: { probability: 1, weights: 2 },
  });
  for (let seed = 0; seed < 5; seed++) {
    const spec = samplePoint(mix, seed, 1);
    assert.equal(spec.ops.length, 1);
    assert.deepEqual(spec.ops[0]!.op === "mix" && spec.ops[0]!.of.map((o) => o.op), ["mask", "fade"]);
    assert.deepEqual(spec.ops[0]!.op === "mix" && spec.ops[0]!.weights, [2, 2]);
  }
});

test("chains get per-frame draws, no velocities, and marginal noise and blur", () => {
  const space = parseSpace({
    order: "chain",
    terms: [1, 2],
    ops: { blur: {}, noise: {} },
    schedules: ["velocity", "geometric"],
    draws: ["video", "frame"],
  });
  for (let seed = 0; seed < 50; seed++) {
    const spec = samplePoint(space, seed, 0);
    assert.equal(spec.order, "chain");
    for (const o of opsOf(spec)) {
      assert.equal(o.draws, "frame");
      assert.ok(Array.isArray(o.strength));
    }
  }
  // Marginal: a one-operator noise chain's steps compose to the drawn total at frame 1.
  const one = parseSpace({ order: "chain", frames: 4, ops: { noise: { max: 0.9, min: 0.2 } } });
  const steps = (samplePoint(one, 0, 0).ops[0] as OpTerm).strength as number[];
  const total = steps.reduceRight((from, s) => {
    const c = Math.cos((Math.PI / 2) * from) * Math.cos((Math.PI / 2) * s);
    return (2 / Math.PI) * Math.acos(c);
  }, 0);
  assert.ok(Math.abs(total - 0.9) < 1e-9, `total ${total}`);
});

test("the baselines: RandAugment's (n, m) grid points and TrivialAugment over the space's operators", () => {
  const space = parseSpace("basic");
  const ra = randAugmentSpec(space, 2, 0.6);
  assert.equal(ra.name, "randaugment-n2-m0.6");
  assert.equal(ra.ops.length, 2);
  for (const t of ra.ops) {
    assert.equal(t.op, "mix");
    if (t.op !== "mix") continue;
    assert.deepEqual(
      t.of.map((o) => o.op),
      ["blur", "pixelate", "mask", "noise"],
    );
    assertClose(t.of[0]!.strength as number[], [0.6, 0.4, 0.2], 1e-12);
  }
  const ta = trivialAugmentSpec(space);
  assert.equal(ta.ops.length, 1);
  const of = ta.ops[0]!.op === "mix" ? ta.ops[0]!.of : [];
  assert.deepEqual(
    of.map((o) => [o.strength, o.jitter]),
    Array(4).fill([[0.5, 0.5, 0.5], 1]),
  );
});

test("space mistakes are one-line errors naming the key", () => {
  const dir = mkdtempSync(join(tmpdir(), "lastframe-space-"));
  const bad = join(dir, "bad.json");
  writeFileSync(bad, "{ nope");
  const cases: [unknown, RegExp][] = [
    ["nothere", /Expected a space preset \(basic, wide\) or the path of a \.json file for space/],
    [bad, /Space file .*bad\.json is not valid JSON/],
    [{ ops: {} }, /for space\.ops but/],
    [{ ops: { smear: {} } }, /Expected an operator \(noise, .*\) for space\.ops key but received "smear"/],
    [
      { ops: { blur: { max: 2 } } },
      /Expected a number in \[0, 1\] or a range \[lo, hi\] of them for space\.ops\.blur\.max/,
    ],
    [{ ops: { blur: { max: [0.9, 0.1] } } }, /space\.ops\.blur\.max: lo 0\.9 is above hi 0\.1/],
    [
      { ops: { blur: { strength: 1 } } },
      /Unknown key "strength" in space\.ops\.blur \(valid: max, min, params\)/,
    ],
    [
      { ops: { blur: { params: { sigma: -1 } } } },
      /space\.ops\.blur: Expected number in \[0, 10\] for spec\.ops\[0\]\.params\.sigma/,
    ],
    [
      { ops: { blur: {} }, frames: [1] },
      /Expected T in 2 … 64 or a non-empty list of them for space\.frames/,
    ],
    [
      { ops: { blur: {} }, order: "sideways" },
      /Expected one of direct, chain or a non-empty list of them for space\.order/,
    ],
    [
      { ops: { blur: {} }, order: "chain", schedules: "velocity" },
      /a chain \(space\.order\) cannot use velocities/,
    ],
    [
      { ops: { blur: {} }, order: "chain", draws: "video" },
      /a chain \(space\.order\) draws afresh every frame/,
    ],
    [{ ops: { blur: {} }, terms: 2 }, /space\.terms: at least 2 terms, but space\.ops has 1 operators/],
    [{ ops: { blur: {} }, terms: 1.5 }, /Expected an integer in \[1, 9\]/],
    [
      { ops: { blur: {} }, mix: { probability: [0, 1] } },
      /Expected a number in \[0, 1\] for space\.mix\.probability/,
    ],
    [{ ops: { blur: {} }, colour: true }, /Unknown key "colour" in space \(valid: name, frames/],
  ];
  for (const [input, pattern] of cases) {
    assert.throws(
      () => parseSpace(input as object),
      (e: Error) => {
        assert.equal(e.name, "ArgumentError");
        assert.match(e.message, pattern);
        assert.ok(!e.message.includes("\n"), e.message);
        return true;
      },
    );
  }
});
