// `lastframe eval` of a run with only the metric that needs no feature net (bpd): the table names the run's step.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { main } from "../../src/cli/main.js";
import { setNumThreads } from "../../src/tensor/index.js";
import { train } from "../../src/train/loop.js";

setNumThreads(1);
const root = mkdtempSync(join(tmpdir(), "lastframe-cli-eval-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("eval RUN --metrics bpd prints the table of the run at its step", async () => {
  const dir = join(root, "run");
  await train(
    {
      model: "hvae",
      preset: "tiny",
      data: { name: "mnist", limit: 200 },
      train: { steps: 2, batch: 4, seed: 3 },
      log: { evalEvery: 2, evalImages: 8, sampleEvery: 2, sampleN: 2, checkpointEvery: 2 },
    },
    dir,
    { output: "quiet" },
  );
  const lines: string[] = [];
  const saved = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    assert.equal(await main(["eval", dir, "--metrics", "bpd", "--bpd-images", "8"]), 0);
  } finally {
    console.log = saved;
  }
  const out = lines.join("\n");
  assert.match(out, new RegExp(`^${dir} \\(step 2, temperature 1\\) vs mnist test, `));
  assert.match(out, /\nbpd +\d+\.\d+ +test set\n/);
  assert.ok(existsSync(join(dir, "eval.json")));
});
