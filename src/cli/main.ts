// The `lastframe` command: dispatches to one module per subcommand. User mistakes (bad flags, missing files,
// corrupt data) print one clear line and exit 2; no room to write (a full disk) prints one line and exits 1; anything
// else is a bug and prints its stack.
import { StorageError, UserError } from "../errors.js";

/** A command returns its exit code (or nothing for 0). */
type Command = { summary: string; run: (argv: string[]) => Promise<void | number> };

const commands: Record<string, Command> = {
  demo: {
    summary: "preview, train, sample, evaluate and report on built-in data (the main job)",
    run: async (a) => (await import("./demo.js")).demoCommand(a),
  },
  bench: {
    summary: "time training steps against PyTorch in the same run",
    run: async (a) => (await import("./bench.js")).benchCommand(a),
  },
  train: {
    summary: "train a model on pseudo videos of a data set",
    run: async (a) => (await import("./train.js")).trainCommand(a),
  },
  sample: {
    summary: "sample images (and videos) from a trained run",
    run: async (a) => (await import("./sample.js")).sampleCommand(a),
  },
  video: {
    summary: "preview and measure pseudo videos: PNG grid, GIF, informativeness metrics",
    run: async (a) => (await import("./video.js")).videoCommand(a),
  },
  featnet: {
    summary: "train the feature net of the offline metrics for a data set",
    run: async (a) => (await import("./featnet.js")).featnetCommand(a),
  },
  eval: {
    summary: "score a run's samples or an image folder: fd, kid, pr, bpd, fid",
    run: async (a) => (await import("./eval.js")).evalCommand(a),
  },
  stats: {
    summary: "precompute reference statistics of a data set for eval",
    run: async (a) => (await import("./stats.js")).statsCommand(a),
  },
  experiment: {
    summary: "run a suite (main, frames, controls, probe) over seeds",
    run: async (a) => (await import("./experiment.js")).experimentCommand(a),
  },
  tune: {
    summary: "design a pseudo-video spec: proxies, then successive halving of short runs, with baselines",
    run: async (a) => (await import("./tune.js")).tuneCommand(a),
  },
  report: {
    summary: "HTML report or markdown tables from results and runs",
    run: async (a) => (await import("./report.js")).reportCommand(a),
  },
  serve: {
    summary: "live dashboard of runs and results in a browser: curves, evaluations, samples",
    run: async (a) => (await import("./serve.js")).serveCommand(a),
  },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return [
    "Usage: lastframe <command> [options]",
    "",
    "Commands:",
    ...rows,
    "",
    "Run 'lastframe <command> --help' for a command's options.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return 0;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(
      `lastframe: unknown command ${JSON.stringify(name)}. Valid commands: ${Object.keys(commands).join(", ")}`,
    );
    return 2;
  }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (err) {
    // UsageError (flags), ArgumentError, DataError, CheckpointError.
    if (err instanceof UserError) {
      console.error(`lastframe ${name}: ${err.message}`);
      return 2;
    }
    // Not the user's mistake, nor a bug: one line, and an exit code apart from mistakes'.
    if (err instanceof StorageError) {
      console.error(`lastframe ${name}: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
