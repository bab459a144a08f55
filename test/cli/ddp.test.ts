// `lastframe train --nproc N …` (src/cli/launch.ts): bad launch flags are one-line errors (exit 2), an unreachable
// master is one within --dist-timeout, and a rank killed with -9 stops the other one, which names it.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, test } from "node:test";

const bin = fileURLToPath(new URL("../../../bin/lastframe.js", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "lastframe-ddp-cli-"));
after(() => rmSync(root, { recursive: true, force: true }));
const tiny = ["--data", "mnist", "--limit", "200", "--model", "hvae", "--preset", "tiny", "--batch", "8"];

function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { p: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  const p = spawn(process.execPath, [bin, "train", ...args], {
    env: { ...process.env, LASTFRAME_THREADS: "2", ...env },
  });
  let stderr = "";
  p.stderr!.on("data", (d) => (stderr += d));
  return { p, done: new Promise((res) => p.on("exit", (code) => res({ code, stderr }))) };
}

/** A port nothing listens on (taken from the OS, then released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, "127.0.0.1", res));
  const port = (s.address() as { port: number }).port;
  await new Promise((res) => s.close(res));
  return port;
}

const oneLine = (stderr: string) => {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, stderr);
  return lines[0]!;
};

test("bad launch flags: one line naming the flag, exit 2", async () => {
  const out = ["--out", join(root, "bad")];
  const cases: [string[], RegExp, NodeJS.ProcessEnv?][] = [
    [["--nproc", "0"], /^lastframe train: --nproc 0: expected at least 1 rank per node$/],
    [
      ["--nnodes", "2", "--node-rank", "2"],
      /^lastframe train: --node-rank 2: must be in \[0, 1\] for --nnodes 2$/,
    ],
    [["--nproc", "2", "--batch", "7"], /train\.batch 7 does not split over 2 ranks: use a multiple of 2$/],
    [
      ["--nproc", "2"],
      /--nproc: this process is already a rank \(WORLD_SIZE=2 is set\)/,
      { WORLD_SIZE: "2", RANK: "0", MASTER_PORT: "1" },
    ],
    [
      [],
      /^lastframe train: RANK=2: must be below WORLD_SIZE=2$/,
      { WORLD_SIZE: "2", RANK: "2", MASTER_PORT: "1" },
    ],
  ];
  const results = await Promise.all(
    cases.map(([flags, , env]) => run([...tiny, ...out, ...flags], env).done),
  );
  results.forEach((r, i) => {
    assert.equal(r.code, 2, r.stderr);
    assert.match(oneLine(r.stderr), cases[i]![1]);
  });
  assert.ok(!existsSync(join(root, "bad")), "a refused launch wrote the run folder");
});

test("an unreachable master: one line after --dist-timeout, exit 2", async () => {
  const port = await freePort();
  const t0 = Date.now();
  const r = await run(
    [...tiny, "--out", join(root, "lonely"), "--nnodes", "2", "--node-rank", "1"].concat([
      "--master-port",
      String(port),
      "--dist-timeout",
      "2",
    ]),
  ).done;
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    oneLine(r.stderr),
    new RegExp(
      `^lastframe train: rank 1: could not join the group at 127\\.0\\.0\\.1:${port} within 2 s .*timed out`,
    ),
  );
  assert.ok(Date.now() - t0 >= 2000);
});

test("kill -9 of rank 1: rank 0 exits non-zero within the timeout, naming rank 1", async () => {
  const dir = join(root, "killed");
  const port = await freePort();
  const launcher = run(
    [...tiny, "--out", dir, "--steps", "1000", "--quiet", "--nproc", "2"].concat([
      "--master-port",
      String(port),
      "--dist-timeout",
      "15",
    ]),
  );
  const pid = launcher.p.pid!;
  // Training is under way once rank 0 has written a step.
  while (!existsSync(join(dir, "metrics.jsonl")) || !readFileSync(join(dir, "metrics.jsonl"), "utf8"))
    await new Promise((res) => setTimeout(res, 200));
  // The launcher's children, from any of its threads (Linux /proc).
  const children = readdirSync(`/proc/${pid}/task`)
    .flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/))
    .filter(Boolean)
    .map(Number);
  const rankOf = (c: number) => /(?:^|\0)RANK=(\d+)/.exec(readFileSync(`/proc/${c}/environ`, "utf8"))![1];
  const rank1 = children.find((c) => rankOf(c) === "1")!;
  const t0 = Date.now();
  process.kill(rank1, "SIGKILL");
  const r = await launcher.done;
  assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /rank 1 was killed \(SIGKILL\)/);
  assert.match(r.stderr, /rank 0: lost rank 1 /);
  for (const c of children) assert.throws(() => process.kill(c, 0), `rank process ${c} still runs`);
});
