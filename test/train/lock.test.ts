// The run-folder lock (src/train/lock.ts): an empty or unreadable lock is stale, several processes racing to take
// over one stale lock leave exactly one holder, and releasing never removes a lock another process holds.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { lockRunFolder } from "../../src/train/lock.js";

const root = mkdtempSync(join(tmpdir(), "lastframe-lock-"));
after(() => rmSync(root, { recursive: true, force: true }));
const lockModule = new URL("../../src/train/lock.js", import.meta.url).href;
/** A process id that no process has: one that has exited (and been reaped). */
const deadPid = spawnSync("true").pid!;

test("an empty or garbled lock file (a full disk, say) is stale and taken over", () => {
  for (const text of ["", "\n", "garbage", "0 " + hostname()]) {
    const dir = join(root, `stale-${text.length}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "lock"), text);
    const unlock = lockRunFolder(dir);
    assert.match(readFileSync(join(dir, "lock"), "utf8"), new RegExp(`^${process.pid} ${hostname()} `));
    unlock();
    assert.equal(existsSync(join(dir, "lock")), false);
  }
});

test("a takeover killed midway (its guard left behind) blocks nobody", () => {
  const dir = join(root, "guard");
  mkdirSync(dir, { recursive: true });
  const stale = `${deadPid} ${hostname()}\n`;
  writeFileSync(join(dir, "lock"), stale);
  const id = createHash("sha256").update(stale).digest("hex").slice(0, 16);
  writeFileSync(join(dir, `lock.takeover-${id}-0`), stale);
  const unlock = lockRunFolder(dir);
  assert.deepEqual(readdirSync(dir), ["lock"]);
  unlock();
});

test("releasing never removes a lock that another process holds now", () => {
  const dir = join(root, "theirs");
  const unlock = lockRunFolder(dir);
  const theirs = `${process.ppid} ${hostname()}\n`;
  writeFileSync(join(dir, "lock"), theirs);
  unlock();
  assert.equal(readFileSync(join(dir, "lock"), "utf8"), theirs);
});

/** A process that takes the lock of `dir` when told "go" on stdin, prints the outcome, and holds on until killed. */
function contender(dir: string): ChildProcess {
  const script = `
    import { lockRunFolder } from ${JSON.stringify(lockModule)};
    setInterval(() => {}, 1000);
    process.stdin.once("data", () => {
      try { lockRunFolder(${JSON.stringify(dir)}); console.log("held"); }
      catch (err) { console.log(err.message); }
    });
    console.log("ready");`;
  return spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["pipe", "pipe", "inherit"],
  });
}

const line = (child: ChildProcess, n: number) =>
  new Promise<string>((resolve) => {
    let seen = "";
    child.stdout!.on("data", (d) => {
      seen += d;
      const lines = seen.split("\n");
      if (lines.length > n) resolve(lines[n - 1]!);
    });
  });

test(
  "4 processes racing to take over one stale lock: exactly one holds it, 20 times over",
  { timeout: 60_000 },
  async () => {
    const wrong: string[] = [];
    for (let round = 0; round < 20; round++) {
      const dir = join(root, `race-${round}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "lock"), `${deadPid} ${hostname()}\n`);
      const children = Array.from({ length: 4 }, () => contender(dir));
      try {
        const outcomes = children.map((c) => line(c, 2));
        await Promise.all(children.map((c) => line(c, 1)));
        for (const c of children) c.stdin!.write("go\n");
        const got = await Promise.all(outcomes);
        const holders = children.filter((_, i) => got[i] === "held");
        const owner = readFileSync(join(dir, "lock"), "utf8").split(" ")[0];
        if (holders.length !== 1 || owner !== String(holders[0]!.pid))
          wrong.push(`round ${round}: ${holders.length} holders, lock names ${owner}`);
        for (const text of got)
          if (text !== "held" && !/is in use: process \d+ is training this run/.test(text))
            wrong.push(`round ${round}: ${text}`);
      } finally {
        for (const c of children) c.kill("SIGKILL");
        await Promise.all(
          children.map((c) => new Promise((r) => (c.exitCode !== null ? r(0) : c.once("exit", r)))),
        );
      }
    }
    assert.deepEqual(wrong, []);
  },
);
