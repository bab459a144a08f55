// Removes compiled files under dist/src whose TypeScript source is gone (a moved or deleted module), so that
// `npm pack` (prepack) ships only what src/ compiles to. tsc never deletes outputs itself.
//   npm run build && node dist/tools/clean-dist.js
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

// This file runs as dist/tools/clean-dist.js (not via src/native/load.ts, which would load the addon).
const packageRoot = fileURLToPath(new URL("../..", import.meta.url));
const out = join(packageRoot, "dist/src");

function clean(dir: string): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      clean(p);
      if (readdirSync(p).length === 0) rmSync(p, { recursive: true });
      continue;
    }
    const source = relative(out, p).replace(/(\.d\.ts|\.js|\.js\.map)$/, ".ts");
    if (!existsSync(join(packageRoot, "src", source))) {
      rmSync(p);
      console.error(`removed stale ${relative(packageRoot, p)}`);
    }
  }
}

clean(out);
