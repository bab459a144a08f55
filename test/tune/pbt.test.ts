// Population-based training of the spec: explore stays inside the space and is a function of its seed; the worst
// quarter takes over the best quarter; exploit copies a run folder file for file (not a trainer's lock); the loop
// is deterministic and a run interrupted part-way resumes to the same record; the learned schedule follows a run
// back through its takeovers.
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, test } from "node:test";
import {
  type PbtHooks,
  endStrengths,
  explore,
  exploit,
  lineage,
  runPbt,
  specParameters,
  truncation,
} from "../../src/tune/pbt.js";
import { parseSpace, samplePoint } from "../../src/tune/space.js";
import { type OpTerm, type VideoSpec, parseSpec } from "../../src/video/index.js";

const root = mkdtempSync(join(tmpdir(), "lastframe-pbt-"));
after(() => rmSync(root, { recursive: true, force: true }));

const opTerms = (spec: VideoSpec): OpTerm[] => spec.ops.flatMap((t) => (t.op === "mix" ? t.of : [t]));

test("explore stays inside the space, keeps each schedule's shape, and depends on its seed alone", () => {
  for (const name of ["basic", "wide"]) {
    const space = parseSpace(name);
    for (let i = 0; i < 60; i++) {
      let spec = samplePoint(space, 3, i);
      for (let g = 0; g < 8; g++) {
        const next = explore(spec, space, 1000 * i + g, `${name}-${i}-g${g}`);
        assert.deepEqual(next, explore(spec, space, 1000 * i + g, `${name}-${i}-g${g}`));
        // A valid spec, as parseSpec resolves it, with the same structure.
        assert.deepEqual(parseSpec(next, next.frames), next);
        assert.deepEqual(
          next.ops.map((t) => (t.op === "mix" ? t.of.map((o) => o.op) : t.op)),
          spec.ops.map((t) => (t.op === "mix" ? t.of.map((o) => o.op) : t.op)),
        );
        const [before, after] = [opTerms(spec), opTerms(next)];
        for (const [k, t] of after.entries()) {
          const r = space.ops[t.op]!;
          const [lo, hi] = [Math.min(r.max[0], r.min[0]), Math.max(r.max[1], r.min[1])];
          for (const s of endStrengths(t, next.frames))
            assert.ok(s >= lo - 1e-12 && s <= hi + 1e-12, `${t.op} ${s}`);
          assert.ok(t.jitter >= space.jitter[0] && t.jitter <= space.jitter[1], `jitter ${t.jitter}`);
          // The whole schedule is scaled by one factor: the ratios between frames are kept.
          const [a, b] = [before[k]!.strength, t.strength];
          const list = (s: typeof a) => (Array.isArray(s) ? s : [s.max, s.min]);
          const f = list(b)[0]! / list(a)[0]!;
          for (const [j, v] of list(b).entries()) assert.ok(Math.abs(v - f * list(a)[j]!) < 1e-9);
        }
        for (const t of next.ops)
          if (t.op === "mix")
            for (const w of t.weights)
              assert.ok(w >= space.mix.weights[0] && w <= space.mix.weights[1], `weight ${w}`);
        spec = next;
      }
    }
    // Another seed moves the parameters differently.
    const p = samplePoint(space, 3, 0);
    assert.notDeepEqual(specParameters(explore(p, space, 1, "x")), specParameters(explore(p, space, 2, "x")));
  }
});

test("specParameters: frame 1's strength per operator and a mixture's probabilities", () => {
  const spec = parseSpec(
    {
      ops: [
        {
          op: "mix",
          of: [
            { op: "blur", strength: 0.6 },
            { op: "mask", strength: 0.4 },
          ],
          weights: [1, 3],
        },
        { op: "noise", strength: { schedule: "linear", max: 0.3, min: 0.1 } },
      ],
    },
    4,
  );
  const p = specParameters(spec);
  assert.deepEqual(Object.keys(p).sort(), [
    "blur probability",
    "blur strength",
    "mask probability",
    "mask strength",
    "noise strength",
  ]);
  assert.equal(p["blur probability"], 0.25);
  assert.equal(p["mask probability"], 0.75);
  assert.ok(Math.abs(p["noise strength"]! - 0.3) < 1e-12);
});

test("truncation: the worst quarter (at least one) takes over the best quarter; a failed run counts as worst", () => {
  assert.deepEqual(truncation(["a", "b", "c", "d"], [2, 1, 4, 3]), [null, null, "b", null]);
  assert.deepEqual(truncation(["a", "b", "c", "d"], [2, 1, null, 3]), [null, null, "b", null]);
  assert.deepEqual(truncation(["a", "b"], [2, 1]), ["b", null]);
  assert.deepEqual(truncation(["a", "b", "c", "d", "e", "f", "g", "h"], [8, 7, 6, 5, 4, 3, 2, 1]), [
    "h",
    "g",
    null,
    null,
    null,
    null,
    null,
    null,
  ]);
  assert.deepEqual(truncation(["a"], [1]), [null]);
});

/** Every file under dir (relative path → bytes). */
function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

test("exploit copies the donor's run folder file for file, but not a trainer's lock, and replaces the recipient", () => {
  const from = join(root, "donor");
  const to = join(root, "recipient");
  mkdirSync(join(from, "ckpt-000006"), { recursive: true });
  writeFileSync(join(from, "config.json"), '{"spec":1}\n');
  writeFileSync(join(from, "ckpt-000006", "model.safetensors"), Buffer.from([0, 1, 2, 255]));
  writeFileSync(join(from, "metrics.jsonl"), '{"step":6}\n');
  writeFileSync(join(from, "lock"), "pid 1\n");
  writeFileSync(join(from, "lock.takeover-ab-0"), "x");
  mkdirSync(join(to, "ckpt-000003"), { recursive: true });
  writeFileSync(join(to, "ckpt-000003", "model.safetensors"), "old");
  exploit(from, to);
  const want = files(from);
  want.delete("lock");
  want.delete("lock.takeover-ab-0");
  assert.deepEqual(files(to), want);
  assert.ok(!existsSync(`${to}.exploit`));
  assert.ok(existsSync(join(from, "lock")), "the donor is left as it was");
});

/**
 * Hooks over fake runs: a run folder holds config.json (the spec) and history.txt (one line per interval, which
 * spec trained it); a member's score depends on its whole history, so a wrong copy would change what follows.
 */
function fakeHooks(base: string, failAt?: { id: string; step: number }): PbtHooks & { calls: string[] } {
  const calls: string[] = [];
  const dir = (id: string) => join(base, id);
  const strength = (s: VideoSpec) => Object.values(specParameters(s)).reduce((a, b) => a + b, 0);
  return {
    calls,
    dir,
    async train(id, spec, step) {
      if (failAt && failAt.id === id && failAt.step === step) throw new Error("killed");
      mkdirSync(dir(id), { recursive: true });
      const config = join(dir(id), "config.json");
      if (!existsSync(config)) writeFileSync(config, JSON.stringify({ spec }));
      assert.deepEqual(
        JSON.parse(readFileSync(config, "utf8")).spec,
        spec,
        `${id} trains with the spec it was given`,
      );
      const history = join(dir(id), "history.txt");
      const lines = existsSync(history) ? readFileSync(history, "utf8").split("\n").filter(Boolean) : [];
      if (lines.length * 3 < step)
        writeFileSync(history, [...lines, `${step} ${strength(spec)}`].join("\n") + "\n");
      calls.push(`${id}@${step}`);
      return true;
    },
    score(id, step) {
      const lines = readFileSync(join(dir(id), "history.txt"), "utf8")
        .split("\n")
        .filter(Boolean);
      const mine = lines.filter((l) => Number(l.split(" ")[0]) <= step);
      // Lower is better: a run trained with low strengths all along scores best.
      return mine.reduce((a, l) => a + Math.abs(Number(l.split(" ")[1]) - 0.3), 0) / mine.length;
    },
    log: () => {},
  };
}

test("runPbt is deterministic, resumes to the same record after an interruption, and the schedule follows takeovers", async () => {
  const space = parseSpace("basic");
  const initial = [0, 1, 2, 3].map((i) => samplePoint(space, 0, i));
  const budget = { population: 4, interval: 3, generations: 4 };
  const a = join(root, "a");
  const b = join(root, "b");
  const c = join(root, "c");
  const fa = await runPbt(join(a, "pbt.json"), initial, space, budget, 7, fakeHooks(a));
  const fb = await runPbt(join(b, "pbt.json"), initial, space, budget, 7, fakeHooks(b));
  // Everything but the seconds each interval took.
  const strip = (f: typeof fa) => f.generations.map((g) => ({ ...g, seconds: 0 }));
  assert.deepEqual(strip(fb), strip(fa));
  assert.equal(fa.generations.length, 4);
  assert.deepEqual(
    fa.generations.map((g) => g.step),
    [3, 6, 9, 12],
  );
  // One takeover per interval but the last, and the recipient's next spec is the donor's explored.
  for (const [g, gen] of fa.generations.entries()) {
    assert.equal(gen.from.filter(Boolean).length, g < 3 ? 1 : 0);
    const i = gen.from.findIndex(Boolean);
    if (i < 0) continue;
    const donor = fa.ids.indexOf(gen.from[i]!);
    assert.equal(gen.bpd[i], Math.max(...(gen.bpd as number[])));
    assert.equal(gen.bpd[donor], Math.min(...(gen.bpd as number[])));
    const next = fa.generations[g + 1]!;
    assert.equal(next.specs[i]!.name, `pbt-${i}-g${g + 1}`);
    assert.deepEqual(
      next.specs[i]!.ops.map((t) => t.op),
      gen.specs[donor]!.ops.map((t) => t.op),
    );
  }
  // Interrupted during interval 3, then resumed: the same record, and nothing trained twice past the interruption.
  const hooks = fakeHooks(c, { id: "pbt-2", step: 9 });
  await assert.rejects(runPbt(join(c, "pbt.json"), initial, space, budget, 7, hooks), /killed/);
  const resumed = fakeHooks(c);
  const fc = await runPbt(join(c, "pbt.json"), initial, space, budget, 7, resumed);
  assert.deepEqual(strip(fc), strip(fa));
  assert.deepEqual(resumed.calls.slice(0, 4), ["pbt-0@9", "pbt-1@9", "pbt-2@9", "pbt-3@9"]);
  assert.deepEqual(
    readFileSync(join(c, "pbt-1", "history.txt"), "utf8"),
    readFileSync(join(a, "pbt-1", "history.txt"), "utf8"),
  );

  // The schedule: one spec per interval, the last the member's own, each earlier one that of the run it holds.
  for (const id of fa.ids) {
    const s = lineage(fa, id);
    assert.deepEqual(
      s.map((p) => p.step),
      [3, 6, 9, 12],
    );
    assert.deepEqual(s[3]!.spec, fa.generations[3]!.specs[fa.ids.indexOf(id)]);
    // The history file written along the run records the same strengths, interval by interval.
    const history = readFileSync(join(a, id, "history.txt"), "utf8")
      .split("\n")
      .filter(Boolean);
    assert.deepEqual(
      history.map((l) => Number(l.split(" ")[1])),
      s.map((p) => Object.values(specParameters(p.spec)).reduce((x, y) => x + y, 0)),
    );
  }
});
