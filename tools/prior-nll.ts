// How predictable the last frame is to a VQ suite's priors: the final test evaluation of each run's prior
// (metrics.jsonl, the first 500 test images' pseudo videos), as mean ± std over seeds per table row. An image
// prior's last-frame NLL is its NLL of the image's codes; a video prior's is that of the last frame's codes given the
// true earlier frames, which is what the pseudo video's extra information buys, before sampling's own errors in
// the earlier frames. Each run codes with its own VQ-VAE, so compare rows as nats per code of different codebooks.
//   npm run build && node dist/tools/prior-nll.js <suite folder>...     (needs the run folders, which are not committed)
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type SuiteResults, runRow } from "../src/experiments/aggregate.js";
import { meanStd } from "../src/report/markdown.js";
import { type MetricRecord, readMetrics } from "../src/run/run.js";

const dirs = process.argv.slice(2);
if (!dirs.length) {
  console.error("usage: node dist/tools/prior-nll.js <suite folder (holds runs/)>...");
  process.exit(2);
}

/** The last prior evaluation in a run's metrics.jsonl, or undefined if the prior was never evaluated. */
function finalPriorEval(run: string): MetricRecord | undefined {
  const records = readMetrics(run).filter(
    (r) => r.type === "eval" && typeof r.last_nats_per_code === "number",
  );
  return records[records.length - 1];
}

const fmt = (xs: unknown[]): string => {
  const { mean, std } = meanStd(xs as number[]);
  return xs.length > 1 ? `${mean.toFixed(3)} ± ${std.toFixed(3)}` : mean.toFixed(3);
};

for (const dir of dirs) {
  const runsDir = join(dir, "runs");
  if (!existsSync(runsDir)) {
    console.error(
      `prior-nll: ${dir} has no runs/ folder (run folders are not committed: use the folder that trained them)`,
    );
    process.exit(2);
  }
  const resultsPath = join(dir, "results.json");
  const results = existsSync(resultsPath)
    ? (JSON.parse(readFileSync(resultsPath, "utf8")) as SuiteResults)
    : undefined;
  const labels = new Map((results?.runs ?? []).map((r) => [r.row, r.label]));
  const rows = new Map<string, MetricRecord[]>([...labels.keys()].map((row) => [row, []]));
  for (const name of readdirSync(runsDir).sort()) {
    const e = finalPriorEval(join(runsDir, name));
    if (!e) continue;
    const row = runRow(name);
    if (!rows.has(row)) rows.set(row, []);
    rows.get(row)!.push(e);
  }
  console.log(`\n${dir}\n`);
  console.log("| row | configuration | last frame, nats/code | all frames, nats/code | step | runs |");
  console.log("|---|---|---:|---:|---:|---:|");
  for (const [row, evals] of rows) {
    if (!evals.length) continue;
    const steps = [...new Set(evals.map((e) => e.step))].join(", ");
    console.log(
      `| ${row} | ${labels.get(row) ?? ""} | ${fmt(evals.map((e) => e.last_nats_per_code))} | ` +
        `${fmt(evals.map((e) => e.nats_per_code))} | ${steps} | ${evals.length} |`,
    );
  }
}
