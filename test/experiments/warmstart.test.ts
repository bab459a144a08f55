// The opt-in suites beside compare, end to end at the smoke budget: warmstart (a video HVAE started from the same
// seed's image run against the image run continued for the same frames) with learning curves, and exposure
// (context from drawn pixels against the likelihood's mean, and a context-noise row).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { dispose } from "../../src/tensor/index.js";
import { readInitWeights, weightsChecksum } from "../../src/train/init.js";

const bin = fileURLToPath(new URL("../../../bin/lastframe.js", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
const root = mkdtempSync(join(tmpdir(), "lastframe-ws-"));
after(() => rmSync(root, { recursive: true, force: true }));

interface Rec {
  row: string;
  seed: number;
  steps: number;
  batch: number;
  frames: number;
  init?: string;
  metrics: Record<string, number>;
  curve?: { step: number; frames: number; last_bpd_given_true?: number; fd?: number }[];
}

test(
  "experiment warmstart --preset smoke: warm rows start from the image run's weights; curves against updates and frames",
  { timeout: 1_200_000 },
  () => {
    const out = join(root, "warmstart");
    const suite = ["experiment", "warmstart", "--preset", "smoke", "--seeds", "1", "--out", out, "--quiet"];
    const vq = run(...suite, "--models", "hvae,vqvae");
    assert.equal(vq.status, 2);
    assert.match(
      vq.stderr,
      /The warmstart suite trains the hvae family only .* not vqvae: pass --models hvae/,
    );
    // Two at a time: the image run (the source) is trained before the two rows that start from it.
    const r = run(...suite, "--models", "hvae", "--jobs", "2", "--curves", "16");
    assert.equal(r.status, 0, r.stderr);
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    const runs: Rec[] = results.runs;
    const by = (row: string) => runs.find((x) => x.row === row)!;
    assert.deepEqual(
      runs.map((x) => x.row),
      ["hvae-image", "hvae-image-continue", "hvae-warm-expressive-t4"],
    );
    assert.equal(by("hvae-image-continue").steps, 4 * by("hvae-image").steps);
    assert.equal(by("hvae-warm-expressive-t4").frames, 4);
    // Both start from exactly the image run's final EMA weights.
    const weights = readInitWeights({ from: join(out, "runs", "hvae-image-s0"), modules: [], sha256: "" });
    const sha = weightsChecksum(weights).slice(0, 12);
    dispose(weights);
    assert.equal(by("hvae-image-continue").init, sha);
    assert.equal(by("hvae-warm-expressive-t4").init, sha);
    assert.equal(by("hvae-image").init, undefined);
    // Curves: every evaluation, with frames processed = steps × batch × T; warm rows start at step 0 where the image
    // run ended (the same bits at T = 1).
    for (const x of runs) {
      assert.ok(x.curve && x.curve.length >= 3, x.row);
      for (const p of x.curve!) {
        assert.equal(p.frames, p.step * x.batch * x.frames);
        assert.ok(Number.isFinite(p.fd) && Number.isFinite(p.last_bpd_given_true), `${x.row} step ${p.step}`);
      }
    }
    assert.equal(by("hvae-image-continue").curve![0]!.step, 0);
    assert.equal(
      by("hvae-image-continue").curve![0]!.last_bpd_given_true,
      by("hvae-image").curve!.at(-1)!.last_bpd_given_true,
    );
    assert.equal(by("hvae-image-continue").curve![0]!.fd, by("hvae-image").curve!.at(-1)!.fd);
    const against = new Set(results.paired.map((p: { against: string }) => p.against));
    assert.deepEqual([...against].sort(), ["hvae-image", "hvae-image-continue"]);
    const md = readFileSync(join(out, "results.md"), "utf8");
    assert.match(md, /ΔFD vs hvae-image-continue \[95% CI\]/);
    assert.match(
      md,
      new RegExp(
        `warm-started rows of each seed start from that seed's image run \\(checked by checksum: seed 0 ${sha}\\)`,
      ),
    );
  },
);

test(
  "experiment exposure --preset smoke: each run scored with context from draws and from the mean",
  { timeout: 1_200_000 },
  () => {
    const out = join(root, "exposure");
    const suite = (o: string) => [
      "experiment",
      "exposure",
      "--preset",
      "smoke",
      "--models",
      "hvae",
      "--seeds",
      "1",
      "--out",
      o,
      "--quiet",
    ];
    const r = run(...suite(out));
    assert.equal(r.status, 0, r.stderr);
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    const runs: Rec[] = results.runs;
    assert.deepEqual(
      runs.map((x) => x.row),
      ["hvae-expressive-t4", "hvae-expressive-ctxnoise-t4"],
    );
    for (const x of runs)
      for (const k of ["fd", "fd_context_mean", "last_bpd_generated", "last_bpd_generated_context_mean"])
        assert.ok(Number.isFinite(x.metrics[k]), `${x.row}: ${k}`);
    const config = (row: string) =>
      JSON.parse(readFileSync(join(out, "runs", `${row}-s0`, "config.json"), "utf8"));
    assert.equal(config("hvae-expressive-ctxnoise-t4").hps.contextNoise, 0.1);
    assert.equal(config("hvae-expressive-t4").hps.contextNoise, 0);
    const second = JSON.parse(
      readFileSync(join(out, "runs", "hvae-expressive-t4-s0", "eval-context-mean.json"), "utf8"),
    );
    assert.equal(second.run.context, "mean");
    assert.equal(second.fd, runs[0]!.metrics.fd_context_mean);
    // The within-run pairing: FD with context from the mean minus FD from draws, per row.
    const within = results.paired.filter(
      (p: { against: string }) => p.against === "context from drawn pixels",
    );
    assert.equal(within.length, 2);
    const d = within.find((p: { row: string }) => p.row === "hvae-expressive-t4");
    assert.ok(Math.abs(d.mean - (runs[0]!.metrics.fd_context_mean! - runs[0]!.metrics.fd!)) < 1e-9);
    assert.match(
      readFileSync(join(out, "results.md"), "utf8"),
      /ΔFD, context from the mean − drawn \[95% CI\]/,
    );
    // Runs another suite recorded (compare's expressive row) are taken with --reuse, and the second evaluation is
    // made on their folder: the same numbers as this suite's own (same weights and seeds).
    const other = join(root, "compare-like");
    mkdirSync(join(other, "runs"), { recursive: true });
    const stripped = runs.map(({ metrics, ...x }) => {
      const { fd_context_mean, last_bpd_generated_context_mean, ...m } = metrics;
      assert.ok(fd_context_mean !== undefined && last_bpd_generated_context_mean !== undefined);
      return { ...x, metrics: m };
    });
    writeFileSync(
      join(other, "results.json"),
      JSON.stringify({ ...results, suite: "compare", runs: stripped }),
    );
    for (const x of runs) {
      cpSync(join(out, "runs", `${x.row}-s0`), join(other, "runs", `${x.row}-s0`), { recursive: true });
      rmSync(join(other, "runs", `${x.row}-s0`, "eval-context-mean.json"));
    }
    const out2 = join(root, "exposure-reused");
    const again = run(...suite(out2), "--reuse", other);
    assert.equal(again.status, 0, again.stderr);
    const reused: (Rec & { reusedFrom?: string })[] = JSON.parse(
      readFileSync(join(out2, "results.json"), "utf8"),
    ).runs;
    assert.ok(reused.every((x) => x.reusedFrom === other));
    assert.deepEqual(
      reused.map((x) => x.metrics),
      runs.map((x) => x.metrics),
    );
    // --context takes sample or mean.
    const image = run("eval", join(out, "runs", "hvae-expressive-t4-s0"), "--context", "nope");
    assert.equal(image.status, 2);
    assert.match(image.stderr, /Expected one of sample, mean for --context but received "nope"/);
  },
);
