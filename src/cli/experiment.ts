// `lastframe experiment <suite>`: the paper's comparison and the ablations, resumable, with a results table.
import { type MetricName, metricNames } from "../eval/evaluate.js";
import { budgets, suiteNames } from "../experiments/suites.js";
import { runSuite } from "../experiments/runner.js";
import { suiteMarkdown } from "../experiments/aggregate.js";
import { familyNames } from "../models/registry.js";
import { type FlagSpecs, parseCommand, UsageError } from "./args.js";

export const experimentFlags = {
  data: { type: "string", help: "data set name or path", default: "mnist" },
  preset: {
    type: "string",
    help: "budget: smoke (CI), quick (minutes a row), standard (≤ ~1 hour a row)",
    default: "quick",
    choices: Object.keys(budgets),
  },
  models: { type: "list", help: "model families (default: all)" },
  seeds: { type: "int", help: "seeds per row (0, 1, …)", default: 3 },
  out: { type: "string", help: "results folder, e.g. results/main-mnist" },
  metrics: { type: "list", help: `metrics (${metricNames.join(", ")})`, default: ["fd", "kid", "pr", "bpd"] },
  inceptionWeights: { type: "string", help: "pytorch-fid Inception weights, to add FID" },
  jobs: {
    type: "int",
    help: "runs trained at once, each in its own process with its share of the threads",
    default: 1,
  },
  reuse: {
    type: "list",
    help: "results folders of other suites (same data and budget): runs recorded there with the same row and seed are taken, not trained again",
  },
  spec: {
    type: "string",
    help: "frames: the spec it sweeps T for: a preset, or best (the best video row of the main table given with --reuse) (default: expressive)",
  },
  tokenizer: {
    type: "string",
    help: "compare: the VQ rows' stage 1, one clean-image VQ-VAE per seed (shared) or one per row on its own frames (default: shared)",
    choices: ["shared", "per-row"],
  },
  curves: {
    type: "int",
    help: "learning curves: also log FD of this many samples at every evaluation during training (default: test bits only)",
  },
  only: { type: "string", help: "train and evaluate just this run (its folder name, e.g. hvae-image-s0)" },
  quiet: { type: "boolean", help: "no progress bars", default: false },
} satisfies FlagSpecs;

export async function experimentCommand(argv: string[]): Promise<void> {
  const f = parseCommand(argv, {
    name: "experiment",
    usage: `<${suiteNames.join("|")}> --out results/DIR [options]`,
    summary: "Train and evaluate every row of a suite over seeds; re-running resumes.",
    flags: experimentFlags,
  });
  if (!f) return;
  const [suite, ...extra] = f._;
  if (!suite) throw new UsageError(`Missing the suite: one of ${suiteNames.join(", ")}`);
  if (extra.length)
    throw new UsageError(`Unexpected argument ${JSON.stringify(extra[0])} for 'lastframe experiment'`);
  if (!f.out) throw new UsageError("Missing --out: the results folder, e.g. --out results/main-mnist");
  if (f.seeds < 1) throw new UsageError(`Expected positive integer for --seeds but received ${f.seeds}`);
  if (f.jobs < 1) throw new UsageError(`Expected positive integer for --jobs but received ${f.jobs}`);
  if (f.curves !== undefined && f.curves < 2)
    throw new UsageError(`Expected integer of at least 2 for --curves but received ${f.curves}`);
  const models = f.models ?? familyNames();
  for (const m of models)
    if (!familyNames().includes(m))
      throw new UsageError(`Unknown model ${JSON.stringify(m)}. Valid models: ${familyNames().join(", ")}`);
  for (const m of f.metrics)
    if (!(metricNames as readonly string[]).includes(m))
      throw new UsageError(`Unknown metric ${JSON.stringify(m)}. Valid metrics: ${metricNames.join(", ")}`);
  const res = await runSuite({
    suite,
    data: f.data,
    models,
    budget: f.preset,
    seeds: f.seeds,
    out: f.out,
    metrics: f.metrics as MetricName[],
    inceptionWeights: f.inceptionWeights,
    jobs: f.jobs,
    only: f.only,
    reuse: f.reuse,
    spec: f.spec,
    tokenizer: f.tokenizer as "shared" | "per-row" | undefined,
    curves: f.curves,
    output: f.quiet || f.jobs > 1 ? "quiet" : "bar",
    log: (s) => process.stderr.write(s + "\n"),
  });
  if (f.only !== undefined) {
    console.error(`run ${f.only} done: ${f.out}/runs/${f.only}`);
    return;
  }
  console.log(suiteMarkdown(res, f.out));
  console.error(`results: ${f.out}/results.json, ${f.out}/results.md`);
}
