// `lastframe report`: one self-contained HTML page (tables, curves, samples, GIFs, configs) from results and
// run folders, or with --markdown the results tables for README.
import { resolve } from "node:path";
import { findResults, reportData, resultsMarkdown } from "../report/collect.js";
import { writeReport } from "../report/html.js";
import { type FlagSpecs, parseCommand, UsageError } from "./args.js";

export const reportFlags = {
  out: { type: "string", help: "HTML file to write", default: "report.html" },
  markdown: { type: "boolean", help: "print the results tables as markdown instead", default: false },
  title: { type: "string", help: "page title", default: "lastframe report" },
} satisfies FlagSpecs;

export async function reportCommand(argv: string[]): Promise<void> {
  const f = parseCommand(argv, {
    name: "report",
    usage: "<results or runs folder>… [--out report.html | --markdown]",
    summary: "Render results and runs as an HTML page or markdown tables.",
    flags: reportFlags,
  });
  if (!f) return;
  const paths = f._.length ? f._ : ["results"];
  const found = findResults(paths);
  if (f.markdown) {
    if (!found.suites.length)
      throw new UsageError(`no results.json under ${paths.join(", ")}: run 'lastframe experiment' first`);
    console.log(resultsMarkdown(found));
    return;
  }
  await writeReport(f.out, reportData(found, resolve(paths[0]!), f.title));
  console.error(`wrote ${f.out}: ${found.suites.length} suite(s), ${found.runs.length} run(s)`);
}
