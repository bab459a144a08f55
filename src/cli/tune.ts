// `lastframe tune`: search a space of pseudo-video specs for a data set and model family (src/tune/tune.ts);
// re-running the same command resumes.
import { familyNames } from "../models/registry.js";
import { spacePresetNames } from "../tune/space.js";
import { type Picker, leaderboardMarkdown, pickerNames, runTune, tuneBudgets } from "../tune/tune.js";
import { type FlagSpecs, parseCommand, UsageError } from "./args.js";

export const tuneFlags = {
  data: { type: "string", help: "data set name or path", default: "mnist" },
  model: { type: "string", help: "model family", default: "vqvae" },
  space: {
    type: "string",
    help: `search space: a preset (${spacePresetNames.join(", ")}) or a .json file`,
    default: "basic",
  },
  budget: {
    type: "string",
    help: "smoke (CI: a minute), quick (207 specs scored; 11 candidates of 100 updates, the best 4 to 300, FD on 2,000 samples)",
    default: "quick",
    choices: Object.keys(tuneBudgets),
  },
  out: { type: "string", help: "the tune's folder, e.g. tunes/mnist-vq" },
  seed: { type: "int", help: "seed of the sampled points, the proxies and every run", default: 0 },
  proxy: {
    type: "string",
    help: "what picks which sampled points train: a zero-training proxy, or frozen (the frozen model's score)",
    default: "gain",
    choices: pickerNames,
  },
  jobs: {
    type: "int",
    help: "runs of a rung trained at once, each in its own process with its share of the threads",
    default: 1,
  },
  only: { type: "string", help: "(internal, with --rung) train just this candidate" },
  rung: { type: "int", help: "(internal, with --only) the rung (0-based) to train it to" },
  quiet: { type: "boolean", help: "no progress bars", default: false },
} satisfies FlagSpecs;

export async function tuneCommand(argv: string[]): Promise<void> {
  const f = parseCommand(argv, {
    name: "tune",
    usage: "--data D --model M --space FILE|preset --budget smoke|quick --out tunes/NAME [--jobs N]",
    summary:
      "Design a pseudo-video spec: rank a space's points by zero-training proxies, train the best and the baselines with successive halving; re-running resumes.",
    flags: tuneFlags,
  });
  if (!f) return;
  if (f._.length) throw new UsageError(`Unexpected argument ${JSON.stringify(f._[0])} for 'lastframe tune'`);
  if (!f.out) throw new UsageError("Missing --out: the tune's folder, e.g. --out tunes/mnist-vq");
  if (!familyNames().includes(f.model))
    throw new UsageError(
      `Unknown model ${JSON.stringify(f.model)}. Valid models: ${familyNames().join(", ")}`,
    );
  if (f.jobs < 1) throw new UsageError(`Expected positive integer for --jobs but received ${f.jobs}`);
  if (f.seed < 0) throw new UsageError(`Expected non-negative integer for --seed but received ${f.seed}`);
  if ((f.only === undefined) !== (f.rung === undefined))
    throw new UsageError(
      "--only and --rung go together (a child of --jobs trains one candidate to one rung)",
    );
  const board = await runTune({
    data: f.data,
    model: f.model,
    space: f.space,
    budget: f.budget,
    out: f.out,
    seed: f.seed,
    proxy: f.proxy as Picker,
    jobs: f.jobs,
    ...(f.only !== undefined ? { only: { id: f.only, rung: f.rung! } } : {}),
    output: f.quiet || f.jobs > 1 ? "quiet" : "bar",
    log: (s) => process.stderr.write(s + "\n"),
  });
  if (f.only !== undefined) return;
  console.log(leaderboardMarkdown(board));
  console.error(
    `leaderboard: ${f.out}/leaderboard.json, ${f.out}/leaderboard.md` +
      (board.best ? `; best spec: ${f.out}/best-spec.json` : ""),
  );
}
