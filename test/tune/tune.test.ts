// `lastframe tune` end to end at the smoke budget: proxies, the baselines, successive halving, FD at the final
// rung, the leaderboard and the best spec; a run killed (-9) part-way and resumed with --jobs 2 ends with the same
// leaderboard as one uninterrupted run; mistakes exit 2 with one line.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseSpec } from "../../src/video/index.js";
import type { PbtFile } from "../../src/tune/pbt.js";
import type { Leaderboard } from "../../src/tune/tune.js";

const bin = fileURLToPath(new URL("../../../bin/lastframe.js", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "lastframe-tune-"));
after(() => rmSync(root, { recursive: true, force: true }));
const args = (out: string) => [
  "tune",
  "--data",
  "mnist",
  "--model",
  "vqvae",
  "--space",
  "basic",
  "--budget",
  "smoke",
  "--out",
  out,
  "--quiet",
];
// One thread in every process: a resume with --jobs 2 gives each child its share of the threads, and sums over a
// different number of threads differ in their last bits, so the exact comparisons below need equal thread counts.
const env = { ...process.env, LASTFRAME_THREADS: "1" };
const run = (...a: string[]) => spawnSync(process.execPath, [bin, ...a], { encoding: "utf8", env });
const board = (out: string) => JSON.parse(readFileSync(join(out, "leaderboard.json"), "utf8")) as Leaderboard;
/** What must not depend on kills, resumes or --jobs: every score, in leaderboard order. */
const numbers = (b: Leaderboard) =>
  b.entries.map((e) => ({ id: e.id, bpd: e.rungs.map((r) => r.bpd), fd: e.fd, proxies: e.proxies }));

test(
  "tune --budget smoke: baselines in the leaderboard, halving by validation bpd, FD at the end, best spec",
  { timeout: 1_200_000 },
  () => {
    const out = join(root, "t");
    const r = run(...args(out));
    assert.equal(r.status, 0, r.stderr);
    const b = board(out);
    assert.equal(b.finished, true);
    // 2 searched points (the best 2 of 6 by gain), RandAugment n ∈ {1, 2} at m 0.5, TrivialAugment, expressive, none.
    assert.deepEqual(b.entries.map((e) => e.kind).sort(), [
      "pbt",
      "pbt",
      "randaugment",
      "randaugment",
      "reference",
      "reference",
      "searched",
      "searched",
      "trivialaugment",
    ]);
    for (const id of ["randaugment-n1-m0.5", "randaugment-n2-m0.5", "trivialaugment", "expressive", "none"])
      assert.ok(
        b.entries.some((e) => e.id === id),
        id,
      );
    const proxies = JSON.parse(readFileSync(join(out, "proxies.json"), "utf8")) as {
      specs: { name: string }[];
      scores: { scores: { gain: number } }[];
    };
    assert.equal(proxies.specs.length, 6 + 5);
    const gains = proxies.scores.slice(0, 6).map((s) => s.scores.gain);
    const top2 = [...gains].sort((x, y) => y - x).slice(0, 2);
    for (const e of b.entries.filter((e) => e.kind === "searched")) assert.ok(top2.includes(e.proxies!.gain));
    // Rung 1: all 7 at 3 updates; rung 2: the best ⌈7/2⌉ = 4 by validation bpd go on to 6 updates and get FD.
    for (const e of b.entries) {
      assert.equal(e.rungs[0]!.steps, 3);
      assert.ok(Number.isFinite(e.rungs[0]!.bpd), `${e.id}: ${e.rungs[0]!.bpd}`);
    }
    const halving = b.entries.filter((e) => e.kind !== "pbt");
    const finalists = halving.filter((e) => e.rungs.length === 2);
    assert.equal(finalists.length, 4);
    const cut = Math.max(...finalists.map((e) => e.rungs[0]!.bpd!));
    for (const e of halving.filter((e) => e.rungs.length === 1)) assert.ok(e.rungs[0]!.bpd! >= cut, e.id);
    for (const e of finalists) {
      assert.equal(e.rungs[1]!.steps, 6);
      assert.ok(Number.isFinite(e.fd) && e.fd! > 0, `${e.id}: FD ${e.fd}`);
    }
    // The run went on from its rung-1 checkpoint: one config, 6 steps, the validation score at steps 3 and 6.
    const f = finalists[0]!;
    const metrics = readFileSync(join(out, "runs", f.id, "metrics.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean);
    const validation = metrics.map((l) => JSON.parse(l)).filter((m) => m.type === "validation");
    assert.deepEqual(
      validation.map((m) => m.step),
      [3, 6],
    );
    assert.deepEqual(
      validation.map((m) => m.last_bpd_given_true),
      f.rungs.map((x) => x.bpd),
    );
    // The frozen model scored every video candidate (the image model has no earlier frames to score).
    for (const e of halving)
      assert.equal(Number.isFinite(e.frozen), e.spec.frames > 1, `${e.id}: ${e.frozen}`);
    assert.ok(b.correlations.frozen.bpd !== undefined);
    assert.ok(existsSync(join(out, "runs", "frozen-broad", "config.json")));

    // PBT: 2 members for 2 intervals of 3 updates; after the first, the worse took over the better's run (its
    // metrics up to step 3 are the donor's, byte for byte: the exact checkpoint) and trained on with the donor's
    // spec explored (its config says so).
    const pbt = JSON.parse(readFileSync(join(out, "pbt.json"), "utf8")) as PbtFile;
    assert.deepEqual(
      pbt.generations.map((g) => [g.step, g.done]),
      [
        [3, true],
        [6, true],
      ],
    );
    const r0 = pbt.generations[0]!.from.findIndex(Boolean);
    assert.ok(r0 >= 0);
    const [recipient, donor] = [pbt.ids[r0]!, pbt.generations[0]!.from[r0]!];
    const upTo3 = (id: string) =>
      readFileSync(join(out, "runs", id, "metrics.jsonl"), "utf8")
        .split("\n")
        .filter((l) => l && JSON.parse(l).step <= 3);
    assert.deepEqual(upTo3(recipient), upTo3(donor));
    const config = JSON.parse(readFileSync(join(out, "runs", recipient, "config.json"), "utf8"));
    assert.deepEqual(config.spec, pbt.generations[1]!.specs[r0]);
    assert.equal(config.spec.name, `${recipient}-g1`);
    // A member's rungs are its run's scores: at step 3 the recipient's run is the donor's.
    const bpdOf = (g: number, id: string) => pbt.generations[g]!.bpd[pbt.ids.indexOf(id)];
    for (const e of b.entries.filter((e) => e.kind === "pbt"))
      assert.deepEqual(
        e.rungs.map((x) => x.bpd),
        [bpdOf(0, e.id === recipient ? donor : e.id), bpdOf(1, e.id)],
      );
    assert.deepEqual(
      b.schedule!.points.map((p) => p.step),
      [3, 6],
    );
    const html = readFileSync(join(out, "report.html"), "utf8");
    assert.match(html, /Learned schedule/);
    assert.equal(html.match(/data:image\/png/g)?.length, 4, "previews of the 3 best video specs and PBT's");

    // The leaderboard: entries with FD first, by FD; the best video spec written as a spec file that parses to itself.
    const fds = b.entries.filter((e) => e.fd !== undefined).map((e) => e.fd!);
    assert.equal(fds.length, 5);
    assert.deepEqual(
      b.entries.slice(0, 5).map((e) => e.fd),
      fds,
    );
    assert.deepEqual(
      fds,
      [...fds].sort((x, y) => x - y),
    );
    const bestSpec = JSON.parse(readFileSync(join(out, "best-spec.json"), "utf8"));
    const best = b.entries.find((e) => e.id === b.best)!;
    assert.ok(best.spec.frames > 1 && best.fd !== undefined);
    assert.deepEqual(bestSpec, best.spec);
    assert.deepEqual(parseSpec(join(out, "best-spec.json"), best.spec.frames).ops, best.spec.ops);
    assert.equal(b.compute.updates, 7 * 3 + 4 * 3 + 2 * 6);
    const steps = [
      "proxySeconds",
      "tokenizerSeconds",
      "frozenTrainSeconds",
      "frozenScoreSeconds",
      "trainSeconds",
      "pbtSeconds",
      "fdSeconds",
    ] as const;
    for (const k of steps) assert.ok(b.compute[k] > 0, k);
    const md = readFileSync(join(out, "leaderboard.md"), "utf8");
    assert.match(md, /^# Tune: vqvae on mnist, space basic, smoke budget, seed 0\n/);
    assert.equal(
      md
        .split("\n")
        .filter((l) => /^\| +\d+ \| \S+ +\| (searched|randaugment|trivialaugment|reference|pbt) /.test(l))
        .length,
      9,
    );
    assert.match(md, /Compute: [\d.]+ s in all/);
    assert.match(md, new RegExp(`Best: ${b.best} \\(best-spec\\.json\\)`));
    assert.match(r.stdout, /# Tune: vqvae on mnist/);

    // Again: nothing to train, the same leaderboard.
    const again = run(...args(out));
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /rung 1\/2: 7 candidates at 3 updates, 0 to train/);
    assert.deepEqual(numbers(board(out)), numbers(b));

    // Killed with -9 during the first rung, then resumed with two jobs: the same numbers as the run above.
    const out2 = join(root, "killed");
    const child = spawn(process.execPath, [bin, ...args(out2)], { stdio: "ignore", env });
    const killed = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    const deadline = Date.now() + 600_000;
    for (;;) {
      const path = join(out2, "leaderboard.json");
      const done = existsSync(path) ? board(out2).entries.filter((e) => e.rungs.length > 0).length : 0;
      if (done >= 3 || Date.now() > deadline) break;
      spawnSync("sleep", ["0.2"]);
    }
    child.kill("SIGKILL");
    return killed.then(() => {
      const part = board(out2);
      assert.equal(part.finished, false);
      assert.ok(
        part.entries.filter((e) => e.rungs.length > 0).length < 7,
        "killed before the first rung ended",
      );
      const resumed = run(...args(out2), "--jobs", "2");
      assert.equal(resumed.status, 0, resumed.stderr);
      assert.deepEqual(numbers(board(out2)), numbers(b));
      assert.equal(
        readFileSync(join(out2, "best-spec.json"), "utf8"),
        readFileSync(join(out, "best-spec.json"), "utf8"),
      );
    });
  },
);

test("tune mistakes exit 2 with one line naming the flag or file", () => {
  const bad = join(root, "bad.json");
  writeFileSync(bad, JSON.stringify({ ops: { blur: { max: 3 } } }));
  const cases: [string[], RegExp][] = [
    [["tune", "--data", "mnist"], /^lastframe tune: Missing --out/],
    [
      [...args(join(root, "x")), "--space", bad],
      /^lastframe tune: Expected a number in \[0, 1\] .* for space\.ops\.blur\.max/,
    ],
    [
      [...args(join(root, "x")), "--space", "nope"],
      /^lastframe tune: Expected a space preset \(basic, wide\)/,
    ],
    [[...args(join(root, "x")), "--budget", "huge"], /--budget/],
    [[...args(join(root, "x")), "--model", "gan"], /^lastframe tune: Unknown model "gan"/],
    [[...args(join(root, "x")), "--only", "basic-1"], /--only and --rung go together/],
    // The settings of an existing tune (the first test's) are checked before any work.
    [[...args(join(root, "t")), "--seed", "1"], /leaderboard\.json holds a tune with other settings/],
  ];
  for (const [a, pattern] of cases) {
    const r = run(...a);
    assert.equal(r.status, 2, `${a.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});
