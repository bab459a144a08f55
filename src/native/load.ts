// Finds and loads lastframe's native addon (native/build/Release/lastframe.node, or $LASTFRAME_ADDON), with a
// failure message that says how to fix it, then applies process-wide defaults (thread count).
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Binding } from "./binding.js";

/** The repository (or installed package) root: the folder holding package.json above this file. */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir)
      throw new Error("lastframe: cannot find package.json above " + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
})();

const EXPECTED_TORCH = "1.13";

function load(): Binding {
  const threads = Number(process.env.LASTFRAME_THREADS) || availableParallelism();
  // OpenBLAS (libtorch's BLAS here) starts its own thread pool when the addon is loaded, sized to the machine
  // unless told otherwise; with LASTFRAME_THREADS=1 that pool's spare thread only competes for the other core.
  // It reads the variable once, at load: the default is taken back afterwards, so that child processes (the
  // jobs of `experiment --jobs`) size their pools from their own LASTFRAME_THREADS, not from this process's.
  const ownDefault = process.env.OPENBLAS_NUM_THREADS === undefined;
  if (ownDefault) process.env.OPENBLAS_NUM_THREADS = String(threads);
  // $LASTFRAME_ADDON: an addon built elsewhere (README "Engine"); otherwise the one npm's install step built.
  const file = process.env.LASTFRAME_ADDON
    ? resolve(process.env.LASTFRAME_ADDON)
    : resolve(packageRoot, "native/build/Release/lastframe.node");
  const require = createRequire(import.meta.url);
  let binding: Binding;
  try {
    binding = require(file) as Binding;
  } catch (err) {
    const why = existsSync(file) ? (err as Error).message.split("\n")[0] : `${file} does not exist`;
    // The message carries the cause's first line; attaching the whole cause would print dlopen's noise too.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(
      [
        `Could not load lastframe's addon: ${why}`,
        "Possible solutions:",
        "- Install libtorch and build the addon: bash scripts/setup.sh",
        "- Or by hand: apt-get install -y libtorch-dev libopenblas-dev && npm run build:native",
        "- For a libtorch you downloaded (e.g. with CUDA): LIBTORCH=/path/to/libtorch npm run build:native",
        "- Or use an addon built elsewhere: LASTFRAME_ADDON=/path/to/lastframe.node",
      ].join("\n"),
    );
  } finally {
    if (ownDefault) delete process.env.OPENBLAS_NUM_THREADS;
  }
  const version = binding.version();
  if (!version.startsWith(EXPECTED_TORCH) && !process.env.LIBTORCH_BYPASS_VERSION_CHECK) {
    throw new Error(
      `lastframe was written for libtorch ${EXPECTED_TORCH} but the addon is linked against ${version}. ` +
        "Set LIBTORCH_BYPASS_VERSION_CHECK=1 to use it anyway.",
    );
  }
  binding.setNumThreads(threads);
  return binding;
}

let loaded: Binding | undefined;

/**
 * The addon, loaded on first use rather than on import: what needs no tensor (configs, specs, reports, the
 * `--help` of every command) runs without libtorch, and the tests of those parts prove it by running with
 * LASTFRAME_ADDON pointing at nothing (scripts/run-tests.js --group unit).
 */
export const native: Binding = new Proxy({} as Binding, {
  get: (_target, key) => Reflect.get((loaded ??= load()), key),
});
