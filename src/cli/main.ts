// The `lastframe` command: dispatches to one module per subcommand. User mistakes (bad flags, missing files,
// corrupt data) print one clear line and exit 2; anything else is a bug and prints its stack.
import { ArgumentError, CheckpointError, DataError } from "../tensor/errors.js";
import { UsageError } from "./args.js";

type Command = { summary: string; run: (argv: string[]) => Promise<void> };

const commands: Record<string, Command> = {
  bench: { summary: "time training steps against PyTorch in the same run", run: async (a) => (await import("./bench.js")).benchCommand(a) },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return ["Usage: lastframe <command> [options]", "", "Commands:", ...rows, "", "Run 'lastframe <command> --help' for a command's options."].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return 0;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(`lastframe: unknown command ${JSON.stringify(name)}. Valid commands: ${Object.keys(commands).join(", ")}`);
    return 2;
  }
  try {
    await cmd.run(rest);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || err instanceof ArgumentError || err instanceof DataError || err instanceof CheckpointError) {
      console.error(`lastframe ${name}: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
