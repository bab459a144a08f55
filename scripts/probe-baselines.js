// Reference points for a `probe` suite's linear-probe accuracies: the same probe (same images, steps and
// standardisation) on raw pixels, and on the features of untrained encoders of the suite's model and preset.
// A trained encoder has learned something linearly useful only if it beats these.
//   node scripts/probe-baselines.js <probe suite folder> [--seeds 3]     (after `npm run build`)
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { budgets } from "../dist/src/experiments/suites.js";
import { linearProbe, probeOptions } from "../dist/src/experiments/probe.js";
import { getFamily } from "../dist/src/models/registry.js";
import { meanStd } from "../dist/src/report/markdown.js";
import { manualSeed, setNumThreads } from "../dist/src/tensor/index.js";
import { completeWithData, modelShape, resolveRunConfig } from "../dist/src/train/config.js";
import { loadRunData } from "../dist/src/train/data.js";

const [dir, flag, n] = process.argv.slice(2);
if (!dir) {
  console.error(
    "usage: node scripts/probe-baselines.js <probe suite folder (holds results.json)> [--seeds N]",
  );
  process.exit(2);
}
const seeds = flag === "--seeds" ? Number(n) : 3;
setNumThreads(Number(process.env.LASTFRAME_THREADS) || 1);
const suite = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
const budget = budgets[suite.budget];
const model = suite.runs[0].model;
const config = resolveRunConfig({ model, preset: budget.preset, data: suite.data, frames: 1, spec: "none" });
const data = await loadRunData(config);
completeWithData(config, data.train);
const o = probeOptions(budget.probeImages, config.data.pad);

const pixels = linearProbe({ features: (x) => x.flatten(1) }, data, o);
console.log(`raw pixels: ${pixels.toFixed(4)}`);
const family = getFamily(model);
const accs = [];
for (let seed = 0; seed < seeds; seed++) {
  manualSeed(seed);
  const untrained = family.create(family.resolve(config.hps, config.preset), modelShape(config));
  untrained.eval();
  accs.push(linearProbe(untrained, data, o));
  untrained.dispose();
}
const { mean, std } = meanStd(accs);
console.log(
  `untrained ${model} encoders (${budget.preset}, seeds 0..${seeds - 1}): ${mean.toFixed(4)} ± ${std.toFixed(4)}`,
);
