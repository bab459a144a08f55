// `lastframe eval <run|folder>`: scores generated images against a data set (fd, kid, pr in the data set's
// feature-net space; fid with Inception weights; bpd of a run's model), writes eval.json beside them and prints
// a table, or one JSON object with --json.
import {
  type EvalReport,
  type MetricName,
  evaluate,
  isRunDir,
  metricNames,
  writeReport,
} from "../eval/evaluate.js";
import type { FrameDistances } from "../eval/frame-fd.js";
import { type FlagSpecs, parseCommand, UsageError } from "./args.js";

export const evalFlags = {
  data: { type: "string", help: "reference data set, name or path (default: the run's)" },
  metrics: { type: "list", help: `any of ${metricNames.join(",")} (default: fd,kid,pr, plus bpd for runs)` },
  n: {
    type: "int",
    help: "generated images to score (sampled from a run, at most this many from a folder)",
    default: 10000,
  },
  refN: { type: "int", help: "reference images (default: as many as generated, at most the split)" },
  split: {
    type: "string",
    help: "reference split (default: test, or train for a folder without one)",
    choices: ["test", "train"],
  },
  featnet: {
    type: "string",
    help: "feature net of fd/kid/pr: mnist, fashion-mnist or cifar10 (default: the data set's)",
  },
  inceptionWeights: { type: "string", help: "pt_inception-2015-12-05-6726825d.pth, for fid" },
  refStats: {
    type: "string",
    help: "fid reference statistics from an .npz (pytorch-fid's mu, sigma) instead of --data",
  },
  temperature: { type: "number", help: "sampling temperature (runs)", default: 1 },
  context: {
    type: "string",
    help: "video HVAE runs: later frames' context from the drawn pixels or the likelihood's mean (exposure bias)",
    default: "sample",
    choices: ["sample", "mean"],
  },
  seed: { type: "int", help: "seed of the samples and of KID's subsets", default: 0 },
  kidSubsets: { type: "int", help: "KID subsets", default: 100 },
  kidSubsetSize: { type: "int", help: "KID subset size (default: min(1000, n, ref-n))" },
  bpdImages: { type: "int", help: "test images for bpd (default: the whole test split)" },
  perFrame: {
    type: "boolean",
    help: "video runs: fd of every generated frame position against every frame of the run's own test pseudo videos",
    default: false,
  },
  out: { type: "string", help: "where to write the report (default: <run|folder>/eval.json)" },
  write: { type: "boolean", help: "write the report (--no-write: print only)", default: true },
  cache: { type: "boolean", help: "use and store cached reference statistics", default: true },
  json: { type: "boolean", help: "print one JSON object instead of a table", default: false },
} satisfies FlagSpecs;

const USAGE =
  "<run|folder> [--data <name|path>] [--metrics fd,kid,pr,bpd,fid] [--n 10000] [--per-frame] [--inception-weights file] [--json]";

export async function evalCommand(argv: string[]): Promise<void> {
  const f = parseCommand(argv, {
    name: "eval",
    usage: USAGE,
    summary: "Score a trained run's samples, or a folder of images, against a data set.",
    flags: evalFlags,
  });
  if (!f) return;
  if (f._.length !== 1)
    throw new UsageError(
      `Expected one run folder or image folder for 'lastframe eval' but received ${f._.length}`,
    );
  const target = f._[0]!;
  for (const key of ["n", "refN", "kidSubsets", "kidSubsetSize", "bpdImages"] as const) {
    const v = f[key];
    if (v !== undefined && v < 1)
      throw new UsageError(
        `Expected positive integer for --${key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())} but received ${v}`,
      );
  }
  if (f.refStats !== undefined && !f.metrics?.includes("fid"))
    throw new UsageError("--ref-stats gives fid's reference: add fid to --metrics");
  if (f.kidSubsetSize === 1)
    throw new UsageError("Expected integer of at least 2 for --kid-subset-size but received 1");
  if (f.seed < 0) throw new UsageError(`Expected non-negative integer for --seed but received ${f.seed}`);
  const metrics = (f.metrics ?? ["fd", "kid", "pr", ...(isRunDir(target) ? ["bpd"] : [])]) as MetricName[];
  for (const m of metrics)
    if (!(metricNames as readonly string[]).includes(m))
      throw new UsageError(
        `Expected metrics among ${metricNames.join(", ")} but received ${JSON.stringify(m)}`,
      );
  if (metrics.length === 0) throw new UsageError("Expected at least one metric in --metrics");
  const report = await evaluate(target, {
    metrics,
    n: f.n,
    data: f.data,
    split: f.split as "test" | "train" | undefined,
    refN: f.refN,
    featnet: f.featnet,
    inceptionWeights: f.inceptionWeights,
    refStats: f.refStats,
    temperature: f.temperature,
    context: f.context as "sample" | "mean",
    seed: f.seed,
    kidSubsets: f.kidSubsets,
    kidSubsetSize: f.kidSubsetSize,
    bpdImages: f.bpdImages,
    perFrame: f.perFrame,
    cache: f.cache,
    progress: !f.json,
  });
  const file = f.write ? writeReport(report, f.out) : null;
  if (f.json) console.log(JSON.stringify(report));
  else {
    console.log(formatReport(report));
    if (file) console.log(`\nwrote ${file}`);
  }
}

/** The report as an aligned table with a one-line heading. */
export function formatReport(r: EvalReport): string {
  const rows: [string, string, string][] = [];
  const space = r.featnet
    ? `featnet ${r.featnet.data} ${r.featnet.id} (test accuracy ${(100 * r.featnet.accuracy).toFixed(1)}%)`
    : "";
  if (r.fd !== undefined) rows.push(["fd", num(r.fd), space]);
  if (r.kid)
    rows.push([
      "kid",
      `${num(r.kid.mean)} ± ${num(r.kid.std)}`,
      `${r.kid.subsets} subset${r.kid.subsets === 1 ? "" : "s"} of ${r.kid.subsetSize}`,
    ]);
  if (r.pr) {
    rows.push(["precision", num(r.pr.precision), `k = ${r.pr.k}`]);
    rows.push(["recall", num(r.pr.recall), `k = ${r.pr.k}`]);
  }
  if (r.fid) {
    const weights = r.fid.standard
      ? "Inception, standard pytorch-fid weights"
      : `Inception, NON-standard weights ${r.fid.sha256.slice(0, 8)}`;
    rows.push([
      "fid",
      num(r.fid.value),
      r.fid.refStats ? `${weights}, reference ${r.fid.refStats}` : weights,
    ]);
  }
  for (const [k, v] of Object.entries(r.bpd ?? {}) as [string, number | number[]][])
    rows.push([
      k,
      typeof v === "number" ? num(v) : v.map(num).join(" "),
      k.startsWith("frame_") ? "test set, frames 1 … T" : "test set",
    ]);
  const head: [string, string, string] = ["metric", "value", "notes"];
  const widths = [0, 1].map((i) => Math.max(head[i]!.length, ...rows.map((row) => row[i]!.length)));
  const line = (row: [string, string, string]) =>
    `${row[0].padEnd(widths[0]!)}  ${row[1].padStart(widths[1]!)}  ${row[2]}`.trimEnd();
  const what =
    r.kind === "run"
      ? `${r.target} (step ${r.run!.step}, temperature ${r.run!.temperature}${r.run!.context ? `, context from the ${r.run!.context}` : ""})`
      : r.target;
  const counts = r.n ? `: ${r.n} generated vs ${r.refN || "published"} reference images` : "";
  const table = [
    `${what} vs ${r.data} ${r.split}${counts}, ${r.seconds} s`,
    "",
    line(head),
    ...rows.map(line),
  ];
  return [...table, ...(r.frames ? ["", ...formatFrames(r.frames)] : [])].join("\n");
}

/** The per-frame distances as a matrix, generated frames down, real frames across, each row's nearest marked. */
function formatFrames(f: FrameDistances): string[] {
  const values = f.fd.map((row) => row.map(num));
  const width = Math.max(...values.flat().map((v) => v.length), "real 10".length);
  const line = (first: string, cells: string[]) =>
    [first.padEnd("generated".length), ...cells].join("  ").trimEnd();
  return [
    `fd per frame position: ${f.n} generated vs ${f.refN} of the run's test pseudo videos (* nearest real frame)`,
    line(
      "generated",
      values[0]!.map((_, j) => `${`real ${j + 1}`.padStart(width)} `),
    ),
    ...values.map((row, i) =>
      line(
        `frame ${i + 1}`,
        row.map((v, j) => `${v.padStart(width)}${f.closest[i] === j + 1 ? "*" : " "}`),
      ),
    ),
  ];
}

function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : Number(v.toPrecision(4)).toString();
}
