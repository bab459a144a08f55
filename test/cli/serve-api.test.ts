// `lastframe serve`'s run list without a browser: a run whose eval.json fails its schema is listed with the reason
// (one line naming the file and key) while the other runs keep their summaries.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startServer } from "../../src/cli/serve.js";
import { resolveRunConfig } from "../../src/train/config.js";

test("lastframe serve lists a run with an unreadable eval.json with the reason, beside readable runs", async () => {
  const root = mkdtempSync(join(tmpdir(), "lastframe-serve-"));
  const config = JSON.stringify(resolveRunConfig({ model: "hvae", preset: "tiny", data: "mnist" }));
  for (const [name, fd] of [
    ["good", 12.5],
    ["bad", "12.5"],
  ] as const) {
    mkdirSync(join(root, name));
    writeFileSync(join(root, name, "config.json"), config);
    writeFileSync(
      join(root, name, "metrics.jsonl"),
      JSON.stringify({ type: "train", step: 3, loss: 1 }) + "\n",
    );
    writeFileSync(join(root, name, "eval.json"), JSON.stringify({ n: 8, refN: 8, fd }));
  }
  const { server, url } = await startServer({ folders: [root], port: 0, host: "127.0.0.1", title: "t" });
  try {
    const r = await fetch(new URL("/api/runs", url));
    assert.equal(r.status, 200);
    const { runs } = (await r.json()) as {
      runs: { name: string; problem?: string; summary: { step?: number; eval?: { fd?: number } } }[];
    };
    const byName = new Map(runs.map((x) => [x.name, x]));
    assert.deepEqual([byName.get("good")!.summary.step, byName.get("good")!.summary.eval?.fd], [3, 12.5]);
    assert.equal(byName.get("good")!.problem, undefined);
    assert.equal(
      byName.get("bad")!.problem,
      `${join(root, "bad", "eval.json")}: Expected number for fd but received "12.5" (string)`,
    );
  } finally {
    server.close();
  }
});
