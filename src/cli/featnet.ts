// `lastframe featnet`: trains a data set's feature net (the feature space of the offline metrics fd, kid, pr),
// reproducibly from a seed, checks it reaches its stated test accuracy, and stores it with that accuracy.
import {
  type FeatNetInfo,
  buildFeatNet,
  featnetConfigFor,
  featnetDataSets,
  storedFeatNet,
} from "../eval/featnet-train.js";
import { type FlagSpecs, parseCommand, UsageError } from "./args.js";

const names = [...featnetDataSets];

export const featnetFlags = {
  data: { type: "string", help: "data set whose feature net to train", choices: names },
  epochs: { type: "int", help: "training epochs (default: the data set's)" },
  seed: { type: "int", help: "seed for weights, shuffling and augmentation (default: 0)" },
  force: { type: "boolean", help: "train again even if a net is stored", default: false },
  json: { type: "boolean", help: "print the stored net's info as JSON", default: false },
} satisfies FlagSpecs;

const USAGE = "--data <name> [--epochs N] [--seed S] [--force] [--json]";

export async function featnetCommand(argv: string[]): Promise<void> {
  const f = parseCommand(argv, {
    name: "featnet",
    usage: USAGE,
    summary: "Train the feature net of the offline metrics (fd, kid, pr) for a data set.",
    flags: featnetFlags,
  });
  if (!f) return;
  if (f._.length > 0)
    throw new UsageError(`Unexpected argument ${JSON.stringify(f._[0])} for 'lastframe featnet'`);
  if (f.data === undefined)
    throw new UsageError(`Expected --data <${names.join("|")}> for 'lastframe featnet'`);
  if (f.epochs !== undefined && f.epochs < 1)
    throw new UsageError(`Expected positive integer for --epochs but received ${f.epochs}`);
  if (f.seed !== undefined && f.seed < 0)
    throw new UsageError(`Expected non-negative integer for --seed but received ${f.seed}`);
  const base = featnetConfigFor(f.data)!;
  const config = { ...base, epochs: f.epochs ?? base.epochs, seed: f.seed ?? base.seed };
  let stored = f.force ? null : storedFeatNet(f.data);
  const asked = (key: "epochs" | "seed") => f.given.has(key) && stored!.info.config[key] !== config[key];
  if (stored && (asked("epochs") || asked("seed"))) {
    stored.net.dispose();
    throw new UsageError(
      `A ${f.data} feature net trained with epochs ${stored.info.config.epochs}, seed ${stored.info.config.seed} is stored; add --force to replace it`,
    );
  }
  const fresh = stored === null;
  if (stored === null) stored = await buildFeatNet(f.data, { config, progress: !f.json });
  stored.net.dispose();
  const info = stored.info;
  if (f.json) console.log(JSON.stringify(info));
  else console.log(describe(info, stored.dir, fresh));
}

function describe(info: FeatNetInfo, dir: string, fresh: boolean): string {
  const c = info.config;
  return [
    `${fresh ? "trained" : "stored"} ${info.data} feature net ${info.id} in ${dir}`,
    `  ${c.arch} widths ${c.widths.join(",")}${c.arch === "lenet" ? ` hidden ${c.hidden}` : ""}, ${c.epochs} epochs, seed ${c.seed}`,
    `  test accuracy ${(100 * info.accuracy).toFixed(2)}% on ${info.testImages} images (stated minimum ${(100 * c.minAccuracy).toFixed(1)}%)`,
    `  trained in ${info.seconds} s on ${info.trainImages} images, ${info.threads} threads, libtorch ${info.torch}`,
  ].join("\n");
}
