// `lastframe report --markdown --into FILE` rewrites only the marked section of a file, and refuses files
// without the markers (naming the file) without touching them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../../bin/lastframe.js", import.meta.url));
const lastframe = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });

const runResult = (row: string, seed: number, fd: number) => ({
  row,
  label: row,
  model: "hvae",
  spec: "none",
  frames: 1,
  seed,
  steps: 10,
  batch: 4,
  framesSeen: 40,
  trainSeconds: 30,
  imagesPerSecond: 50,
  metrics: { fd },
});

test("report --markdown --into replaces the marked section only", () => {
  const root = mkdtempSync(join(tmpdir(), "lastframe-into-"));
  const suite = join(root, "results", "main-x");
  mkdirSync(suite, { recursive: true });
  const results = {
    suite: "main",
    data: "mnist",
    budget: "quick",
    seeds: [0, 1],
    hardware: "test",
    runs: [runResult("hvae-image", 0, 4), runResult("hvae-image", 1, 6)],
  };
  writeFileSync(join(suite, "results.json"), JSON.stringify(results));
  const readme = join(root, "README.md");
  const before =
    "# x\n\nintro\n\n<!-- lastframe results: begin -->\nold table\n<!-- lastframe results: end -->\n\n## after\n";
  writeFileSync(readme, before);

  const r = lastframe("report", join(root, "results"), "--markdown", "--into", readme);
  assert.equal(r.status, 0, r.stderr);
  const after = readFileSync(readme, "utf8");
  assert.ok(
    after.startsWith("# x\n\nintro\n\n<!-- lastframe results: begin -->\n\n### main on mnist"),
    after,
  );
  assert.ok(after.endsWith("<!-- lastframe results: end -->\n\n## after\n"), after);
  assert.match(after, /\| hvae +\| hvae-image +\| 5\.00 ± 1\.41 \|/);
  assert.doesNotMatch(after, /old table/);

  // Running it again changes nothing: the section is replaced, not appended to.
  assert.equal(lastframe("report", join(root, "results"), "--markdown", "--into", readme).status, 0);
  assert.equal(readFileSync(readme, "utf8"), after);

  const plain = join(root, "plain.md");
  writeFileSync(plain, "no markers\n");
  const bad = lastframe("report", join(root, "results"), "--markdown", "--into", plain);
  assert.equal(bad.status, 2);
  assert.match(
    bad.stderr,
    /^lastframe report: --into .*plain\.md: expected the lines <!-- lastframe results: begin -->/,
  );
  assert.doesNotMatch(bad.stderr, /at .*\.js:\d+/);
  assert.equal(readFileSync(plain, "utf8"), "no markers\n");
});

test("report --markdown puts the largest budget first, then suites and data sets in their usual order", () => {
  const root = mkdtempSync(join(tmpdir(), "lastframe-order-"));
  // Folder names sort the other way round, so the order below comes from the results, not the listing.
  const suites: [string, string, string][] = [
    ["a", "controls", "mnist"],
    ["b", "main", "cifar10"],
    ["c", "main", "fashion-mnist"],
    ["d", "main", "mnist"],
  ];
  for (const budget of ["quick", "standard"])
    for (const [dir, suite, data] of suites) {
      mkdirSync(join(root, `${dir}-${budget}`));
      const results = {
        suite,
        data,
        budget,
        seeds: [0],
        hardware: "test",
        runs: [runResult("hvae-image", 0, 4)],
      };
      writeFileSync(join(root, `${dir}-${budget}`, "results.json"), JSON.stringify(results));
    }
  const r = lastframe("report", root, "--markdown");
  assert.equal(r.status, 0, r.stderr);
  const headings = r.stdout.split("\n").filter((l) => l.startsWith("### "));
  const expected = ["standard", "quick"].flatMap((b) =>
    ["main on mnist", "main on fashion-mnist", "main on cifar10", "controls on mnist"].map(
      (s) => `### ${s}, hvae (${b} budget, seeds 0)`,
    ),
  );
  assert.deepEqual(headings, expected);
});
