// `lastframe train`: trains a model family on pseudo videos of a data set into a run folder (src/train/loop.ts
// describes the folder). Flags override a --config file, which overrides the family's preset defaults.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { GroupError, ProcessGroup, rankEnv } from "../dist/index.js";
import { type RunInput, readConfigFile, mergeInputs, resolveRunConfig } from "../train/config.js";
import { rowsPerRank } from "../train/ddp.js";
import { type TrainOptions, TrainingError, train } from "../train/loop.js";
import { type FlagSpecs, flagName, parseCommand, UsageError } from "./args.js";
import { type Launch, checkLaunch, launchKeys, launchRanks, withoutLaunchFlags } from "./launch.js";

export const trainFlags = {
  data: { type: "string", help: "data set name (mnist, fashion-mnist, cifar10, celeba64) or a path" },
  model: { type: "string", help: "model family (hvae, …)" },
  preset: { type: "string", help: "hyperparameter set: tiny, small, standard" },
  spec: { type: "string", help: "pseudo-video spec: a preset name or a .json file" },
  frames: { type: "int", help: "frames per pseudo video, T (the image is the last)" },
  framesAsImages: {
    type: "boolean",
    help: "data-size control: train the image model on all T frames as separate images",
  },
  steps: { type: "int", help: "training steps (of each stage)" },
  batch: { type: "int", help: "images per step" },
  lr: { type: "number", help: "peak learning rate (warm-up, then cosine decay)" },
  seed: { type: "int", help: "seed of the weights, data order and pseudo videos" },
  flip: { type: "boolean", help: "random horizontal flips" },
  limit: { type: "int", help: "use at most this many images per split (a low-data regime)" },
  validation: { type: "int", help: "hold out the last N training images as a validation split" },
  selectBest: {
    type: "boolean",
    help: "keep, sample and evaluate the EMA weights with the best validation last-frame bits (needs --validation)",
  },
  out: { type: "string", help: "run folder, e.g. runs/NAME" },
  config: { type: "string", help: "JSON config file (a run's config.json works)" },
  resume: { type: "boolean", help: "continue the run in --out from its latest checkpoint" },
  stage: { type: "string", help: "train only this stage (default: all, in order)" },
  initFrom: {
    type: "string",
    help: "start from a trained run's EMA weights (or a .safetensors file); tensors the source lacks keep their init",
  },
  initModules: {
    type: "list",
    help: "with --init-from: take only tensors under these name prefixes, e.g. vqvae. (default: all)",
  },
  evalEvery: { type: "int", help: "steps between test-set evaluations (default: steps/5)" },
  evalImages: { type: "int", help: "test images per evaluation (default 500; 0: all)" },
  sampleEvery: { type: "int", help: "steps between sample grids (default: steps/5)" },
  checkpointEvery: { type: "int", help: "steps between checkpoints (default: steps/10)" },
  quiet: { type: "boolean", help: "print nothing but errors", default: false },
  json: { type: "boolean", help: "print every metrics record as a JSON line on stdout", default: false },
  nproc: {
    type: "int",
    help: "data parallel: ranks to launch on this machine (threads split between them)",
    default: 1,
  },
  nnodes: { type: "int", help: "data parallel: machines, each launching --nproc ranks", default: 1 },
  nodeRank: { type: "int", help: "data parallel: this machine's index in [0, nnodes)", default: 0 },
  masterAddr: {
    type: "string",
    help: "data parallel: address of node 0 (serves the rendezvous)",
    default: "127.0.0.1",
  },
  masterPort: { type: "int", help: "data parallel: rendezvous port on node 0", default: 29500 },
  distTimeout: { type: "int", help: "data parallel: seconds a rendezvous or collective waits", default: 300 },
} satisfies FlagSpecs;

const usage = "--data <name|path> --out runs/NAME [options]";
const summary =
  "Train a model on pseudo videos whose last frame is the image; --resume continues a run exactly.";

export async function trainCommand(argv: string[]): Promise<number> {
  const f = parseCommand(argv, { name: "train", usage: usage, summary: summary, flags: trainFlags });
  if (!f) return 0;
  if (f._.length)
    throw new UsageError(
      `Unexpected argument ${JSON.stringify(f._[0])} for 'lastframe train'; use flags (see --help)`,
    );
  if (!f.out) throw new UsageError("Missing --out: the run folder, e.g. --out runs/mnist-tiny");
  if (f.quiet && f.json) throw new UsageError("Give at most one of --quiet and --json");
  const given = (k: string) => f.given.has(k);
  const pick = <K extends keyof typeof f>(keys: K[]) =>
    Object.fromEntries(keys.filter((k) => given(k as string)).map((k) => [k, f[k]]));
  const flags: RunInput = {
    ...pick(["model", "preset", "spec", "frames", "framesAsImages"]),
    ...(given("data") || given("flip") || given("limit") || given("validation")
      ? { data: { ...(f.data ? { name: f.data } : {}), ...pick(["flip", "limit", "validation"]) } }
      : {}),
    train: pick(["steps", "batch", "lr", "seed", "selectBest"]),
    log: pick(["evalEvery", "evalImages", "sampleEvery", "checkpointEvery"]),
  };
  if (given("initModules") && !given("initFrom"))
    throw new UsageError("--init-modules needs --init-from: the run or file to take those tensors from");
  if (f.initFrom) flags.init = { from: f.initFrom, modules: (f.initModules as string[] | undefined) ?? [] };
  const input = f.config ? mergeInputs(readConfigFile(f.config), flags) : flags;
  const opts: TrainOptions = {
    resume: f.resume,
    stage: f.stage,
    output: f.json ? "json" : f.quiet ? "quiet" : "bar",
  };
  if (f.distTimeout < 1) throw new UsageError(`--dist-timeout ${f.distTimeout}: expected at least 1 second`);
  const env = rankEnv();
  if (launchKeys.some((k) => given(k))) {
    if (env)
      throw new UsageError(
        `${launchKeys.filter(given).map(flagName).join(", ")}: this process is already a rank (WORLD_SIZE=${env.worldSize} is set); give launch flags or torchrun's variables, not both`,
      );
    const launch: Launch = {
      ...{ argv: withoutLaunchFlags(argv), nproc: f.nproc, nnodes: f.nnodes, nodeRank: f.nodeRank },
      ...{ masterAddr: f.masterAddr, masterPort: f.masterPort, timeoutS: f.distTimeout },
    };
    checkLaunch(launch);
    const world = launch.nproc * launch.nnodes;
    if (world > 1) {
      // Checked once here rather than by every rank.
      rowsPerRank(resolveRunConfig(f.resume ? withSaved(input, f.out) : input).train.batch, world);
      return launchRanks(launch);
    }
  }
  if (!env) return trainAndReport(input, f.out, opts);
  stopWithLauncher(env.rank);
  let group: ProcessGroup;
  try {
    group = ProcessGroup.init(env, f.distTimeout * 1000);
  } catch (err) {
    if (!(err instanceof GroupError)) throw err;
    throw new UsageError(
      `rank ${env.rank}: could not join the group at ${env.masterAddr}:${env.masterPort} within ${f.distTimeout} s ` +
        `(--master-addr, --master-port; is rank 0 running?): ${cause(err)}`,
    );
  }
  try {
    return await trainAndReport(input, f.out, { ...opts, group });
  } catch (err) {
    if (!(err instanceof GroupError)) throw err;
    // With two ranks the lost one is the other; Gloo's message names only its address.
    const lost = env.worldSize === 2 ? `rank ${1 - env.rank}` : "another rank";
    console.error(
      `lastframe train: rank ${env.rank}: lost ${lost} (stopped, unreachable or slower than --dist-timeout ${f.distTimeout} s): ${cause(err)}`,
    );
    return 1;
  } finally {
    group.destroy();
  }
}

async function trainAndReport(input: RunInput, out: string, opts: TrainOptions): Promise<number> {
  try {
    await train(input, out, opts);
  } catch (err) {
    if (!(err instanceof TrainingError)) throw err;
    console.error(`lastframe train: ${err.message}`);
    return 1;
  }
  return 0;
}

/** libtorch's own words (first line), without the "rank r: what: dist.op:" prefixes (dist/group.ts). */
const cause = (err: Error) =>
  err.message
    .replace(/^.*dist\.\w+: /, "")
    .split("\n")[0]!
    .trim();

/** A resumed run's saved config under the flags: what its ranks will train. */
function withSaved(input: RunInput, out: string): RunInput {
  const path = join(out, "config.json");
  return existsSync(path) ? mergeInputs(readConfigFile(path), input) : input;
}

/** A rank started by the launcher stops when the launcher is gone (killed, even with -9): no orphan trains on. */
function stopWithLauncher(rank: number): void {
  if (!process.channel) return;
  process.channel.unref();
  process.on("disconnect", () => {
    console.error(`lastframe train: rank ${rank}: the launcher is gone; stopping`);
    process.exit(1);
  });
}
