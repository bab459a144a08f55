// Reference points for a `probe` suite's linear-probe accuracies: the same probe (same images, steps and
// standardisation) on raw pixels, and on the features of untrained encoders of the suite's model and preset.
// A trained encoder has learned something linearly useful only if it beats these.
//   npm run build && node dist/tools/probe-baselines.js <probe suite folder> [--seeds 3]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { SuiteResults } from "../src/experiments/aggregate.js";
import { budgets } from "../src/experiments/suites.js";
import { linearProbe, probeOptions } from "../src/experiments/probe.js";
import type { TrainableModel } from "../src/models/model.js";
import { getFamily } from "../src/models/registry.js";
import { meanStd } from "../src/report/markdown.js";
import { type Tensor, manualSeed, setNumThreads } from "../src/tensor/index.js";
import { completeWithData, modelShape, resolveRunConfig } from "../src/train/config.js";
import { loadRunData } from "../src/train/data.js";

const [dir, flag, n] = process.argv.slice(2);
if (!dir) {
  console.error(
    "usage: node dist/tools/probe-baselines.js <probe suite folder (holds results.json)> [--seeds N]",
  );
  process.exit(2);
}
const seeds = flag === "--seeds" ? Number(n) : 3;
setNumThreads(Number(process.env.LASTFRAME_THREADS) || 1);
const suite = JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as SuiteResults;
const budget = budgets[suite.budget];
if (!budget) throw new Error(`probe-baselines: unknown budget ${suite.budget} in ${dir}/results.json`);
const model = suite.runs[0].model;
const config = resolveRunConfig({ model, preset: budget.preset, data: suite.data, frames: 1, spec: "none" });
const data = await loadRunData(config);
completeWithData(config, data.train);
const o = probeOptions(budget.probeImages, config.data.pad);

// The probe uses only a model's `features`: raw pixels are the identity feature map.
const identity = { features: (x: Tensor) => x.flatten(1) } as unknown as TrainableModel;
const pixels = linearProbe(identity, data, o);
console.log(`raw pixels: ${pixels.toFixed(4)}`);
const family = getFamily(model);
const accs: number[] = [];
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
