#!/usr/bin/env node
// Entry point of the `lastframe` command. The TypeScript sources are compiled to dist/ by `npm run build`.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error("lastframe is not built yet. Run: bash scripts/setup.sh   (or: npm ci && npm run build:native && npm run build)");
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
