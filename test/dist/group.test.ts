// Two ranks on loopback: a coalesced allreduce sums, broadcast copies rank 0, and bad torchrun variables fail.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { rankEnv } from "../../src/dist/index.js";

const child = fileURLToPath(new URL("./rank-child.js", import.meta.url));

test("2 ranks: allreduce sums, broadcast copies rank 0", async () => {
  const port = 29000 + Math.floor(Math.random() * 2000);
  const { spawn } = await import("node:child_process");
  const runs = [0, 1].map(
    (rank) =>
      new Promise<string>((res, rej) => {
        const p = spawn(process.execPath, [child], {
          env: {
            ...process.env,
            WORLD_SIZE: "2",
            RANK: String(rank),
            MASTER_ADDR: "127.0.0.1",
            MASTER_PORT: String(port),
          },
        });
        let out = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (out += d));
        p.on("exit", (code) => (code === 0 ? res(out) : rej(new Error(`rank ${rank} exit ${code}: ${out}`))));
      }),
  );
  const outs = await Promise.all(runs);
  for (const o of outs) assert.deepEqual(JSON.parse(o), { sum: [1, 3, 5], bcast: [10, 20] });
});

test("rankEnv: rank >= world and world 0 are one-line errors", () => {
  assert.throws(
    () => rankEnv({ WORLD_SIZE: "2", RANK: "2", MASTER_PORT: "1" }),
    /RANK=2: must be below WORLD_SIZE=2/,
  );
  assert.throws(() => rankEnv({ WORLD_SIZE: "0", RANK: "0", MASTER_PORT: "1" }), /WORLD_SIZE=0/);
  assert.equal(rankEnv({}), null);
});
