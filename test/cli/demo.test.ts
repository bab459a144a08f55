// The main job (README's first command runs `lastframe demo`), end to end at a toy size: every file it promises
// is written, the report embeds its charts and images, and the metrics are numbers.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../../bin/lastframe.js", import.meta.url));

test(
  "lastframe demo previews, trains, samples, scores and reports into one run folder",
  { timeout: 900_000 },
  () => {
    const out = join(mkdtempSync(join(tmpdir(), "lastframe-demo-")), "demo");
    const args = ["demo", "--preset", "tiny", "--steps", "3", "--batch", "4", "--eval-n", "64", "--out", out];
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    for (const f of [
      "pseudo-videos.png",
      "pseudo-videos.gif",
      "config.json",
      "metrics.jsonl",
      "samples.png",
      "generated-videos.gif",
      "eval.json",
      "report.html",
    ])
      assert.ok(existsSync(join(out, f)), `${f} missing`);
    assert.match(r.stdout, new RegExp(`Done\\. Look at:\\n  ${join(out, "report.html")}`));
    const report = JSON.parse(readFileSync(join(out, "eval.json"), "utf8"));
    assert.equal(report.n, 64);
    // The demo trains the VQ family at T = 2: bits per code of each frame given the true frames before it.
    assert.equal(report.run.model, "vqvae");
    assert.equal(report.bpd.frame_bpd.length, 2);
    assert.ok(Number.isFinite(report.fd) && report.bpd.last_bpd_given_true > 0, JSON.stringify(report));
    const page = readFileSync(join(out, "report.html"), "utf8");
    assert.match(page, /<svg/);
    assert.match(page, /data:image\/gif;base64/);
    assert.match(page, /data:image\/png;base64/);
  },
);
