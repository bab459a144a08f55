// `lastframe stats --data <name>`: precomputes a data set's reference statistics (features, mean, covariance)
// in the feature-net space and, given Inception weights, in Inception's, and caches them with their provenance
// so that later `lastframe eval` runs only extract features of the generated images.
import path from "node:path";
import { defaultSplit, loadDataset } from "../data/index.js";
import { ensureFeatNet, featnetConfigFor, featnetDataSets } from "../eval/featnet-train.js";
import { loadFidInception } from "../eval/inception.js";
import { writeNpzStats } from "../eval/npz.js";
import { type Provenance, chooseReference, referenceStats } from "../eval/reference.js";
import { type FeatureSpace, featnetSpace, inceptionSpace } from "../eval/spaces.js";
import { type FlagSpecs, parseCommand, UsageError } from "./args.js";

export const statsFlags = {
  data: { type: "string", help: "data set, name or path" },
  split: {
    type: "string",
    help: "which split (default: test, or train for a folder without one)",
    choices: ["test", "train"],
  },
  n: { type: "int", help: "images (spread evenly over the split; default: all)" },
  featnet: {
    type: "string",
    help: "feature net space: mnist, fashion-mnist or cifar10 (default: the data set's; 'none' to skip)",
  },
  inceptionWeights: {
    type: "string",
    help: "pt_inception-2015-12-05-6726825d.pth: also compute Inception statistics",
  },
  npz: { type: "string", help: "also write the Inception statistics as pytorch-fid's .npz (mu, sigma)" },
  json: { type: "boolean", help: "print one JSON object", default: false },
} satisfies FlagSpecs;

const USAGE =
  "--data <name|path> [--split test] [--n N] [--featnet <name>] [--inception-weights file [--npz stats.npz]]";

export async function statsCommand(argv: string[]): Promise<void> {
  const f = parseCommand(argv, {
    name: "stats",
    usage: USAGE,
    summary: "Precompute and cache reference statistics of a data set.",
    flags: statsFlags,
  });
  if (!f) return;
  if (f._.length > 0)
    throw new UsageError(`Unexpected argument ${JSON.stringify(f._[0])} for 'lastframe stats'`);
  if (f.data === undefined) throw new UsageError("Expected --data <name|path> for 'lastframe stats'");
  if (f.npz !== undefined && f.inceptionWeights === undefined)
    throw new UsageError("--npz writes Inception statistics: give --inception-weights too");
  if (f.n !== undefined && f.n < 2)
    throw new UsageError(`Expected integer of at least 2 for --n but received ${f.n}`);
  const data = await loadDataset(f.data, { progress: !f.json });
  const featnet = f.featnet ?? (featnetConfigFor(data.name) ? data.name : "none");
  if (featnet === "none" && !f.inceptionWeights)
    throw new UsageError(
      `No feature net exists for ${data.name}: pass --featnet <${featnetDataSets.join("|")}> or --inception-weights <file>`,
    );
  if (featnet !== "none" && !featnetConfigFor(featnet))
    throw new UsageError(
      `Expected one of ${[...featnetDataSets, "none"].join(", ")} for --featnet but received ${JSON.stringify(featnet)}`,
    );
  const split = (f.split ?? defaultSplit(data)) as "test" | "train";
  if (data[split].n < 2)
    throw new UsageError(
      `The ${split} split of ${data.name} has ${data[split].n} images: statistics need at least 2`,
    );
  const ref = chooseReference(data, split, f.n);
  const spaces: FeatureSpace[] = [];
  const done: (Provenance & { file: string; fromCache: boolean })[] = [];
  try {
    if (featnet !== "none") spaces.push(featnetSpace(await ensureFeatNet(featnet, { progress: !f.json })));
    if (f.inceptionWeights) spaces.push(inceptionSpace(loadFidInception(f.inceptionWeights)));
    for (const space of spaces) {
      const r = referenceStats(space, ref, { progress: !f.json });
      r.features.dispose();
      done.push({ ...r.provenance, file: r.file, fromCache: r.fromCache });
      if (f.npz && space.name === "inception") {
        writeNpzStats(f.npz, r.stats);
        done.push({ ...r.provenance, file: path.resolve(f.npz), fromCache: false });
      }
    }
  } finally {
    for (const s of spaces) s.dispose();
  }
  if (f.json) console.log(JSON.stringify({ stats: done }));
  else
    for (const d of done)
      console.log(
        `${d.fromCache ? "cached" : "computed"} ${d.data} ${d.split} (${d.n} images, sha256 ${d.dataSha256.slice(0, 12)}) in ${d.space} ${d.spaceId}: ${d.file}`,
      );
}
