// `lastframe train` and `lastframe sample`: flags reach the run config, a run samples to a PNG (and GIF), and
// user mistakes exit 2 with one line naming the problem and the valid choices.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import sharp from "sharp";
import { main } from "../../src/cli/main.js";
import { familyNames } from "../../src/models/registry.js";
import { setNumThreads } from "../../src/tensor/index.js";
import { presetNames } from "../../src/video/index.js";

setNumThreads(1);
const root = mkdtempSync(join(tmpdir(), "lastframe-cli-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Runs the CLI in-process; returns the exit code and what it printed on stderr. */
async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  const lines: string[] = [];
  const saved = [console.error, process.stderr.write];
  console.error = (...a: unknown[]) => void lines.push(a.join(" "));
  process.stderr.write = ((s: string) => (lines.push(String(s)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(args), stderr: lines.join("\n") };
  } finally {
    [console.error, process.stderr.write] = saved as [typeof console.error, typeof process.stderr.write];
  }
}

test("train then sample: flags reach config.json; sample writes a PNG grid of 28×28 images and a GIF", async () => {
  const out = join(root, "run");
  const r = await cli(
    "train",
    "--data",
    "mnist",
    "--limit",
    "200",
    "--preset",
    "tiny",
    "--spec",
    "expressive",
    "--frames",
    "3",
    "--steps",
    "2",
    "--batch",
    "4",
    "--lr",
    "0.001",
    "--seed",
    "5",
    "--eval-images",
    "8",
    "--quiet",
    "--out",
    out,
  );
  assert.equal(r.code, 0, r.stderr);
  const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
  assert.equal(cfg.model, "hvae");
  assert.equal(cfg.frames, 3);
  assert.equal(cfg.spec.name, "expressive");
  assert.deepEqual([cfg.train.steps, cfg.train.batch, cfg.train.lr, cfg.train.seed], [2, 4, 0.001, 5]);
  assert.deepEqual([cfg.data.name, cfg.data.limit, cfg.data.size, cfg.data.pad], ["mnist", 200, 28, 2]);
  assert.equal(cfg.hps.width, 16);
  const png = join(root, "s.png"),
    gif = join(root, "s.gif");
  const s = await cli(
    "sample",
    out,
    "--n",
    "6",
    "--out",
    png,
    "--gif",
    gif,
    "--scale",
    "1",
    "--temperature",
    "0.9",
  );
  assert.equal(s.code, 0, s.stderr);
  const meta = await sharp(png).metadata();
  // 3 × 2 tiles of 28 px with 2 px padding around and between them.
  assert.deepEqual([meta.width, meta.height], [3 * 28 + 4 * 2, 2 * 28 + 3 * 2]);
  const anim = await sharp(gif, { animated: true }).metadata();
  assert.equal(anim.pages, 3);
});

test("user mistakes exit 2 with one line naming the problem and the valid choices", async () => {
  const out = join(root, "bad");
  const base = ["train", "--data", "mnist", "--out", out];
  const cases: [string[], string][] = [
    [
      [...base, "--model", "gan"],
      `lastframe train: Unknown model "gan". Valid models: ${familyNames().join(", ")}`,
    ],
    [
      [...base, "--preset", "huge"],
      'lastframe train: Unknown preset "huge" for model hvae. Valid presets: tiny, small, standard',
    ],
    [
      ["train", "--data", "mnsit", "--out", out],
      'lastframe train: Unknown data set "mnsit". Valid names: mnist, fashion-mnist, cifar10, celeba64, or a path to a folder or archive',
    ],
    [
      [...base, "--spec", "blurry", "--frames", "4"],
      `lastframe train: Expected a preset (${presetNames.join(", ")}) or the path of a .json file for spec but received "blurry" (string)`,
    ],
    [
      [...base, "--frames", "4"],
      `lastframe train: Missing spec: frames 4 > 1 needs --spec (${presetNames.join(", ")}, or a .json file)`,
    ],
    [
      [...base, "--steps", "-1"],
      "lastframe train: Expected positive integer for train.steps but received -1 (number)",
    ],
    [[...base, "--steps", "ten"], 'lastframe train: Expected integer for --steps but received "ten"'],
    [
      ["train", "--data", "mnist"],
      "lastframe train: Missing --out: the run folder, e.g. --out runs/mnist-tiny",
    ],
    [[...base, "--quiet", "--json"], "lastframe train: Give at most one of --quiet and --json"],
    [
      [...base, "--config", join(root, "none.json")],
      `lastframe train: Cannot read config file ${join(root, "none.json")}: ENOENT`,
    ],
    [
      [...base, "--stage", "prior", "--preset", "tiny", "--steps", "1", "--limit", "50"],
      'lastframe train: Unknown stage "prior" for model hvae. Valid stages: main',
    ],
    [
      ["sample", root, "--out", join(root, "x.png")],
      `lastframe sample: ${root} is not a run folder: it has no config.json`,
    ],
    [
      ["sample", "--out", "x.png"],
      "lastframe sample: Expected one run folder for 'lastframe sample' but received 0",
    ],
    // The run trained by the test above (an hvae): settings of another family's sampling are refused.
    [
      ["sample", join(root, "run"), "--out", join(root, "p.png"), "--top-p", "0.9"],
      `lastframe sample: --top-p does not apply to ${join(root, "run")}: its model is hvae, whose sampling takes --temperature and --pixels`,
    ],
    [
      ["sample", join(root, "run"), "--out", join(root, "grid.txt")],
      `lastframe sample: Expected a .png file for --out (it is written in that format) but received "${join(root, "grid.txt")}"`,
    ],
    [
      ["report", join(root, "run"), "--out", join(root, "report.pdf")],
      `lastframe report: Expected a .html file for --out (it is written in that format) but received "${join(root, "report.pdf")}"`,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(message), `${args.join(" ")}:\n  got:  ${r.stderr}\n  want: ${message}`);
    assert.ok(!/\n\s+at /.test(r.stderr), `stack trace printed for ${args.join(" ")}`);
  }
  for (const f of ["p.png", "grid.txt", "report.pdf"])
    assert.ok(!existsSync(join(root, f)), `${f} was written`);
});
