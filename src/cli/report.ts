// `lastframe report`: one self-contained HTML page (tables, curves, samples, GIFs, configs) from results and
// run folders, or with --markdown the results tables for README.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { writeFileAtomic } from "../util/atomic.js";
import { findResults, reportData, resultsMarkdown } from "../experiments/collect.js";
import { writeReport } from "../report/html.js";
import { type FlagSpecs, parseCommand, UsageError } from "./args.js";

const BEGIN = "<!-- lastframe results: begin -->";
const END = "<!-- lastframe results: end -->";

/** `text` with what lies between the marker lines of `file` replaced by `tables` (the markers stay). */
function spliceResults(file: string, tables: string): string {
  if (!existsSync(file)) throw new UsageError(`--into ${file}: no such file`);
  const text = readFileSync(file, "utf8");
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin)
    throw new UsageError(
      `--into ${file}: expected the lines ${BEGIN} and then ${END} around the results section`,
    );
  return text.slice(0, begin + BEGIN.length) + "\n\n" + tables.trim() + "\n\n" + text.slice(end);
}

export const reportFlags = {
  out: { type: "string", help: "HTML file to write", default: "report.html", ext: ".html" },
  markdown: { type: "boolean", help: "print the results tables as markdown instead", default: false },
  title: { type: "string", help: "page title", default: "lastframe report" },
  into: {
    type: "string",
    help: `with --markdown: write the tables into this file (e.g. README.md) between the lines ${BEGIN} and ${END}`,
  },
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
    const tables = resultsMarkdown(found);
    if (f.into) {
      writeFileAtomic(f.into, spliceResults(f.into, tables));
      console.error(`wrote the tables of ${found.suites.length} suite(s) into ${f.into}`);
    } else console.log(tables);
    return;
  }
  if (f.into) throw new UsageError("--into needs --markdown (it writes the markdown tables into a file)");
  await writeReport(f.out, reportData(found, resolve(paths[0]!), f.title));
  console.error(`wrote ${f.out}: ${found.suites.length} suite(s), ${found.runs.length} run(s)`);
}
