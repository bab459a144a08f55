// Thread settings are per process: the OpenBLAS pool size lastframe picks while loading its addon must not be
// inherited by child processes (the jobs of `experiment --jobs N` run with their own LASTFRAME_THREADS).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

const tensorModule = new URL("../../src/tensor/index.js", import.meta.url).href;

function envAfterLoad(env: Record<string, string>): string {
  const base = { ...process.env };
  delete base.OPENBLAS_NUM_THREADS;
  delete base.LASTFRAME_THREADS;
  const script = `await import(${JSON.stringify(tensorModule)}); console.log(process.env.OPENBLAS_NUM_THREADS ?? "unset");`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...base, ...env },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test("loading the addon leaves OPENBLAS_NUM_THREADS as it found it", () => {
  assert.equal(envAfterLoad({}), "unset");
  assert.equal(envAfterLoad({ LASTFRAME_THREADS: "2" }), "unset");
  assert.equal(envAfterLoad({ OPENBLAS_NUM_THREADS: "3" }), "3");
});
