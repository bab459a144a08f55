// Runs the compiled tests (dist/test/**/*.test.js) with node:test, one file at a time so tests that train
// models do not fight over the two cores. `node scripts/run-tests.js nn tensor` runs only those folders;
// `--group unit|torch|training` runs only the tests that need that much:
//   unit      no libtorch: run with LASTFRAME_ADDON naming a file that does not exist, so a test that loads the
//             addon (src/native/load.ts loads it on first use) fails instead of passing by accident
//   torch     libtorch, but no training run (tensors, layers, models, metrics, readers): every file not listed
//   training  whole training runs (train(), the CLI, suites, the packed package): minutes
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const listed = {
  unit: [
    "bench/interval",
    "cli/errors",
    "cli/serve-api",
    "data/cache",
    "data/idx",
    "data/progress",
    "data/splits",
    "data/tar",
    "eval/forecast",
    "eval/npz",
    "experiments/aggregate",
    "experiments/collect",
    "experiments/paired",
    "experiments/reuse",
    "modality/image-grid",
    "modality/series-csv",
    "modality/wav",
    "models/diffusion-schedule",
    "report/browser",
    "report/html",
    "report/into",
    "report/markdown",
    "report/svg",
    "train/config",
    "tune/space",
    "video/spec",
  ],
  training: [
    "cli/browser",
    "cli/ddp",
    "cli/demo",
    "cli/eval",
    "cli/train",
    "eval/cli",
    "eval/featnets",
    "experiments/jobs",
    "experiments/smoke",
    "experiments/tokenizer",
    "experiments/warmstart",
    "models/ddpm",
    "models/vq-train",
    "package/pack",
    "run/run",
    "train/checkpoint",
    "train/ddp",
    "train/engine",
    "train/faults",
    "train/loop",
    "train/select-best",
    "train/soak",
    "train/warm-start",
    "tune/tune",
  ],
};

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? find(p) : p.endsWith(".test.js") ? [p] : [];
  });
}

const testFile = (name) => join("dist/test", `${name}.test.js`);
for (const name of [...listed.unit, ...listed.training])
  if (!existsSync(testFile(name))) {
    console.error(`scripts/run-tests.js lists ${name}, but there is no ${testFile(name)} (renamed? not built?)`);
    process.exit(1);
  }
const groupOf = (file) =>
  Object.keys(listed).find((g) => listed[g].some((name) => testFile(name) === file)) ?? "torch";

const args = process.argv.slice(2);
const at = args.indexOf("--group");
const group = at >= 0 ? args.splice(at, 2)[1] : undefined;
if (group !== undefined && !["unit", "torch", "training"].includes(group)) {
  console.error(`Expected one of unit, torch, training for --group but received ${JSON.stringify(group)}`);
  process.exit(2);
}
const files = find("dist/test")
  .filter((f) => args.length === 0 || args.some((g) => f.startsWith(join("dist/test", g))))
  .filter((f) => group === undefined || groupOf(f) === group)
  .sort();
if (files.length === 0) {
  console.error("no test files found under dist/test" + (args.length ? ` for ${args.join(", ")}` : ""));
  process.exit(1);
}
const env = { ...process.env };
if (group === "unit") env.LASTFRAME_ADDON = join("dist", "no-libtorch-in-unit-tests", "lastframe.node");
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...files], { stdio: "inherit", env });
process.exit(r.status ?? 1);
