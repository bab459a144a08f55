// A smoke suite end to end on tiny presets: every row trains a few steps, is evaluated,
// and give a well-formed table, markdown and HTML report; a second invocation resumes without retraining, and a
// third on a machine without the run folders keeps the runs that results.json records.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../../bin/lastframe.js", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });

test("experiment main --preset smoke, then report (HTML and markdown)", { timeout: 2_400_000 }, () => {
  const out = join(mkdtempSync(join(tmpdir(), "lastframe-exp-")), "main");
  const suite = [
    "experiment",
    "main",
    "--preset",
    "smoke",
    "--models",
    "hvae",
    "--seeds",
    "2",
    "--out",
    out,
    "--quiet",
  ];
  // Two runs at a time in child processes; the table is the same as one at a time would give.
  const r = run(...suite, "--jobs", "2");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /10 runs to do, 2 at a time/);
  const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
  assert.equal(results.runs.length, 5 * 2, "5 rows × 2 seeds");
  for (const x of results.runs) {
    for (const k of ["fd", "kid", "precision", "recall"])
      assert.ok(Number.isFinite(x.metrics[k]), `${x.row} s${x.seed}: ${k}`);
    assert.equal(x.framesSeen, x.steps * x.batch * x.frames);
    assert.match(x.config, /^[0-9a-f]{12}$/);
  }
  assert.ok(
    results.runs
      .filter((x: { frames: number }) => x.frames === 1)
      .every((x: { metrics: { bpd: number } }) => x.metrics.bpd > 0),
  );
  // The table leaves a video row's bits/dim out (not the image's likelihood), so it is not evaluated either.
  const evalOf = (name: string) => JSON.parse(readFileSync(join(out, "runs", name, "eval.json"), "utf8"));
  assert.ok(evalOf("hvae-image-s0").bpd.bpd > 0);
  assert.equal(evalOf("hvae-expressive-t4-s0").bpd, undefined);
  const md = readFileSync(join(out, "results.md"), "utf8");
  assert.equal(md.split("\n").filter((l) => l.startsWith("| hvae")).length, 5);
  assert.match(md, /± /);

  const mtime = statSync(join(out, "runs", "hvae-image-s0", "metrics.jsonl")).mtimeMs;
  const again = run(...suite);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(
    statSync(join(out, "runs", "hvae-image-s0", "metrics.jsonl")).mtimeMs,
    mtime,
    "a finished run was trained again",
  );

  const html = join(out, "report.html");
  const rep = run("report", out, "--out", html);
  assert.equal(rep.status, 0, rep.stderr);
  const page = readFileSync(html, "utf8");
  assert.match(page, /<table/);
  assert.match(page, /<svg/);
  assert.match(page, /data:image\/png;base64/);
  // Each row's seed-0 grid is kept beside the table (for committing) and shown in the report.
  assert.deepEqual(readdirSync(join(out, "samples")).sort(), [
    "hvae-blur-chain-t4.png",
    "hvae-expressive-t4.png",
    "hvae-image.png",
    "hvae-independent-t4.png",
    "hvae-noise-chain-t4.png",
  ]);
  assert.match(page, /Samples: main on mnist, hvae \(smoke budget, seeds 0, 1\)/);
  const mdOut = run("report", out, "--markdown");
  assert.equal(mdOut.status, 0, mdOut.stderr);
  assert.equal(mdOut.stdout.trim(), md.trim());

  // `controls` shares the image and expressive rows with `main`: with --reuse they are taken from it, and only the
  // two control rows train. Reuse is sound because a run is deterministic under its seed: trained again here with
  // the thread count of main's --jobs children (BLAS threads change the last bits), the expressive row scores what
  // main recorded.
  const suiteAt = (name: string, dir: string, seeds = 2) => [
    ...["experiment", name, "--preset", "smoke", "--models", "hvae", "--quiet"],
    ...["--seeds", String(seeds), "--out", dir],
  ];
  const controls = join(out, "..", "controls");
  const reuse = run(...suiteAt("controls", controls), "--reuse", out);
  assert.equal(reuse.status, 0, reuse.stderr);
  assert.deepEqual(readdirSync(join(controls, "runs")).sort(), [
    "hvae-data-size-t4-s0",
    "hvae-data-size-t4-s1",
    "hvae-noise-control-t4-s0",
    "hvae-noise-control-t4-s1",
  ]);
  assert.match(reuse.stderr, /hvae-image, seed 0 \(reused from .*main\)/);
  const ctl = JSON.parse(readFileSync(join(controls, "results.json"), "utf8"));
  const mainRun = (row: string, seed: number) =>
    results.runs.find((x: { row: string; seed: number }) => x.row === row && x.seed === seed);
  for (const x of ctl.runs)
    if (["hvae-image", "hvae-expressive-t4"].includes(x.row)) {
      assert.equal(x.reusedFrom, out);
      assert.deepEqual(x.metrics, mainRun(x.row, x.seed).metrics);
    } else assert.equal(x.reusedFrom, undefined);
  assert.ok(existsSync(join(controls, "samples", "hvae-image.png")), "a reused row's grid is kept too");
  const ctlMd = readFileSync(join(controls, "results.md"), "utf8");
  assert.match(ctlMd, /--reuse [^ ]*main --out/);
  assert.match(ctlMd, /4 of these runs were trained for [^ ]*main \(same row, seed and budget\)/);
  const fresh = join(out, "..", "fresh");
  const retrain = spawnSync(
    process.execPath,
    [bin, ...suiteAt("controls", fresh), "--only", "hvae-expressive-t4-s0"],
    { encoding: "utf8", env: { ...process.env, LASTFRAME_THREADS: "1" } },
  );
  assert.equal(retrain.status, 0, retrain.stderr);
  const retrained = JSON.parse(
    readFileSync(join(fresh, "runs", "hvae-expressive-t4-s0", "eval.json"), "utf8"),
  );
  assert.equal(retrained.fd, mainRun("hvae-expressive-t4", 0).metrics.fd);
  // The probe needs each run's checkpoint, not training: it is measured on main's run folders.
  const probe = join(out, "..", "probe");
  const probed = run(...suiteAt("probe", probe), "--reuse", out);
  assert.equal(probed.status, 0, probed.stderr);
  assert.equal(existsSync(join(probe, "runs")), false, "a reused run was trained again for the probe");
  for (const x of JSON.parse(readFileSync(join(probe, "results.json"), "utf8")).runs)
    assert.ok(x.metrics.probe > 0 && x.metrics.probe <= 1, `${x.row}: probe ${x.metrics.probe}`);
  // frames --spec best sweeps T for main's best video row (lowest mean FD at T = 4), reusing T = 1 and T = 4.
  const video = results.runs.filter((x: { frames: number }) => x.frames === 4);
  const meanFd = (spec: string) => {
    const fds = video
      .filter((x: { spec: string }) => x.spec === spec)
      .map((x: { metrics: { fd: number } }) => x.metrics.fd);
    return fds.reduce((a: number, b: number) => a + b, 0) / fds.length;
  };
  const best = [...new Set<string>(video.map((x: { spec: string }) => x.spec))].sort(
    (a, b) => meanFd(a) - meanFd(b),
  )[0];
  const frames = join(out, "..", "frames");
  const swept = run(
    ...suiteAt("frames", frames).map((a) => (a === "2" ? "1" : a)),
    "--spec",
    "best",
    "--reuse",
    out,
    "--jobs",
    "2",
  );
  assert.equal(swept.status, 0, swept.stderr);
  assert.match(swept.stderr, new RegExp(`best spec for hvae in \\S+main: ${best} \\(mean FD`));
  assert.deepEqual(readdirSync(join(frames, "runs")).sort(), [`hvae-${best}-t2-s0`, `hvae-${best}-t8-s0`]);
  const fr = JSON.parse(readFileSync(join(frames, "results.json"), "utf8"));
  assert.deepEqual(
    fr.runs.map((x: { row: string }) => x.row),
    ["hvae-image", `hvae-${best}-t2`, `hvae-${best}-t4`, `hvae-${best}-t8`],
  );
  // The table's command names the spec it swept, unless that is the default one (which the command then gives).
  assert.match(
    readFileSync(join(frames, "results.md"), "utf8"),
    new RegExp(`--models hvae${best === "expressive" ? "" : ` --spec ${best}`} --reuse`),
  );
  for (const [args, message] of [
    [["--spec", "best"], /--spec best needs --reuse <a main results folder>/],
    [["--spec", "nope"], /Unknown spec "nope" for --spec\. Valid: best, noise-chain,/],
  ] as const) {
    const r = run(...suiteAt("frames", join(out, "..", "f2")), ...args);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, message);
  }
  const notFrames = run(...suite, "--spec", "independent");
  assert.equal(notFrames.status, 2);
  assert.match(notFrames.stderr, /--spec applies to the frames suite .*, not to main/);
  // Only the same data and budget give the same runs.
  const wrong = run(
    "experiment",
    "controls",
    "--preset",
    "quick",
    "--models",
    "hvae",
    "--out",
    join(out, "..", "q"),
    "--reuse",
    out,
  );
  assert.equal(wrong.status, 2);
  assert.match(
    wrong.stderr,
    /--reuse .*main: it holds runs on mnist at the smoke budget, not mnist at quick/,
  );
  const missing = run(...suite, "--reuse", join(out, "..", "nowhere"));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--reuse .*nowhere: no results\.json there/);

  // A fresh machine with the committed results.json but no run folders: nothing is trained again.
  rmSync(join(out, "runs"), { recursive: true });
  const elsewhere = run(...suite);
  assert.equal(elsewhere.status, 0, elsewhere.stderr);
  assert.match(elsewhere.stderr, /\(recorded in results\.json\)/);
  assert.equal(existsSync(join(out, "runs")), false, "a recorded run was trained again");
  assert.deepEqual(JSON.parse(readFileSync(join(out, "results.json"), "utf8")).runs, results.runs);
  assert.equal(readFileSync(join(out, "results.md"), "utf8"), md);

  // Runs scored in another feature space than this machine's net are not mixed into the table.
  const ids = new Set(results.runs.map((x: { featnet: string }) => x.featnet));
  assert.equal(ids.size, 1, "one feature net scored every run");
  assert.match([...ids][0] as string, /^[0-9a-f]{12}$/);
  assert.match(md, /feature network \([0-9a-f]{12}, pinned in `featnets\/mnist`\)/);
  const foreign = {
    ...results,
    runs: [{ ...results.runs[0], featnet: "000000000000" }, ...results.runs.slice(1)],
  };
  writeFileSync(join(out, "results.json"), JSON.stringify(foreign));
  const mixed = run(...suite);
  assert.equal(mixed.status, 2);
  assert.match(
    mixed.stderr,
    /holds runs scored with the mnist feature net .*000000000000.*would not compare/,
  );
  // A record whose config is not what the suite now trains for its row (a preset changed since) is refused too.
  const stale = {
    ...results,
    runs: [
      ...results.runs.slice(0, 2),
      { ...results.runs[2], config: "000000000000" },
      ...results.runs.slice(3),
    ],
  };
  writeFileSync(join(out, "results.json"), JSON.stringify(stale));
  const changed = run(...suite);
  assert.equal(changed.status, 2);
  assert.match(
    changed.stderr,
    /records runs trained with another config than this suite now gives them \(hvae-blur-chain-t4-s0\)/,
  );
  writeFileSync(join(out, "results.json"), JSON.stringify(results));

  // Another suite's --out is refused, and --only names the runs there are.
  const other = run(
    "experiment",
    "controls",
    "--preset",
    "smoke",
    "--models",
    "hvae",
    "--out",
    out,
    "--quiet",
  );
  assert.equal(other.status, 2);
  assert.match(other.stderr, /holds suite main on mnist at the smoke budget, not controls on mnist at smoke/);
  // A plan that would drop recorded runs from the table (here: fewer seeds) is refused, and nothing is written.
  const fewer = run(...suite.map((a, i) => (suite[i - 1] === "--seeds" ? "1" : a)));
  assert.equal(fewer.status, 2);
  assert.match(
    fewer.stderr,
    /results\.json records runs this command does not plan \(hvae-image-s1, hvae-noise-chain-t4-s1, hvae-blur-chain-t4-s1, hvae-independent-t4-s1, … \(5 in all\)\): they were made with other --models, --seeds or --spec/,
  );
  assert.deepEqual(JSON.parse(readFileSync(join(out, "results.json"), "utf8")).runs, results.runs);
  const only = run(...suite, "--only", "hvae-nope-s0");
  assert.equal(only.status, 2);
  assert.match(only.stderr, /Unknown run "hvae-nope-s0" for --only\. This suite's runs: hvae-image-s0, /);
});

test(
  "experiment compare --preset smoke: shared tokenizers, the controls, per-frame bits and paired intervals",
  { timeout: 2_400_000 },
  () => {
    const out = join(mkdtempSync(join(tmpdir(), "lastframe-cmp-")), "compare");
    const r = run(
      "experiment",
      "compare",
      "--preset",
      "smoke",
      "--models",
      "vqvae,hvae",
      "--seeds",
      "2",
      "--out",
      out,
      "--quiet",
      "--jobs",
      "2",
    );
    assert.equal(r.status, 0, r.stderr);
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    type Rec = {
      row: string;
      seed: number;
      model: string;
      steps: number;
      init?: string;
      metrics: Record<string, number>;
    };
    const runs: Rec[] = results.runs;
    assert.equal(runs.length, (8 + 6) * 2, "8 vqvae rows and 6 hvae rows, 2 seeds");
    for (const x of runs)
      assert.ok(x.metrics.last_bpd_given_true! > 0, `${x.row} s${x.seed}: last_bpd_given_true`);
    // image-compute trains T× the updates of the image row.
    const steps = (row: string) => runs.find((x) => x.row === row && x.seed === 0)!.steps;
    assert.equal(steps("vqvae-image-compute"), 4 * steps("vqvae-image"));
    // Every VQ row of a seed starts from the same tokenizer, and its run holds exactly the tokenizer's weights.
    for (const seed of [0, 1]) {
      const ids = new Set(runs.filter((x) => x.model === "vqvae" && x.seed === seed).map((x) => x.init));
      assert.equal(ids.size, 1, `seed ${seed}: ${[...ids]}`);
      assert.match([...ids][0]!, /^[0-9a-f]{12}$/);
    }
    assert.ok(existsSync(join(out, "tokenizers", "vqvae-s0.safetensors")));
    assert.ok(runs.filter((x) => x.model === "hvae").every((x) => x.init === undefined));
    // The paired differences: every non-baseline row against both baselines, per family.
    const paired: { row: string; against: string; n: number; lo: number; hi: number; mean: number }[] =
      results.paired;
    assert.equal(paired.filter((p) => p.against === "vqvae-image").length, 7);
    assert.ok(paired.every((p) => p.n === 2 && p.lo <= p.mean && p.mean <= p.hi));
    const md = readFileSync(join(out, "results.md"), "utf8");
    assert.match(md, /ΔFD vs vqvae-image \[95% CI\]/);
    assert.match(md, /start from one clean-image tokenizer \(checked by checksum/);
  },
);
