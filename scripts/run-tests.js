// Runs the compiled tests (dist/test/**/*.test.js) with node:test, one file at a time so tests that train
// models do not fight over the two cores. `node scripts/run-tests.js nn tensor` runs only those folders.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? find(p) : p.endsWith(".test.js") ? [p] : [];
  });
}

const groups = process.argv.slice(2);
const files = find("dist/test")
  .filter((f) => groups.length === 0 || groups.some((g) => f.startsWith(join("dist/test", g))))
  .sort();
if (files.length === 0) {
  console.error("no test files found under dist/test" + (groups.length ? ` for ${groups.join(", ")}` : ""));
  process.exit(1);
}
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
