// The training loop (src/train): a tiny MNIST run learns; a resumed run equals an uninterrupted one; kills,
// corrupt checkpoints, mismatched configs and persistent NaNs are handled as documented.
import assert from "node:assert/strict";
import {
  existsSync,
  renameSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { spawn } from "node:child_process";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { hvaeFamily } from "../../src/models/hvae.js";
import type { ModelFamily, TrainableModel } from "../../src/models/model.js";
import { registerFamily } from "../../src/models/registry.js";
import { ArgumentError, manualSeed, setNumThreads } from "../../src/tensor/index.js";
import { readCheckpoint, readState } from "../../src/train/checkpoint.js";
import { type RunInput, completeWithData, resolveRunConfig } from "../../src/train/config.js";
import { loadRunData, scoreTestSet } from "../../src/train/data.js";
import { TrainingError, train } from "../../src/train/loop.js";
import { closeRun, openRun, sampleVideos } from "../../src/run/run.js";
import { processState } from "../../src/util/process.js";

// Two shared cores: one thread per process is several times faster than two fighting other processes.
setNumThreads(1);
const root = mkdtempSync(join(tmpdir(), "lastframe-train-"));
after(() => rmSync(root, { recursive: true, force: true }));

const tiny = (steps: number, extra: RunInput = {}): RunInput => ({
  model: "hvae",
  preset: "tiny",
  data: { name: "mnist", limit: 600 },
  train: { steps, batch: 16, seed: 3 },
  log: { evalEvery: steps, evalImages: 64, sampleEvery: steps, sampleN: 4, checkpointEvery: steps },
  ...extra,
});

type Record_ = {
  type: string;
  step: number;
  loss?: number;
  grad_norm?: number;
  bpd?: number;
  skipped?: number;
};
const records = (dir: string): Record_[] =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record_);

test("a tiny MNIST run lowers the test bits/dim clearly", async () => {
  const dir = join(root, "learn");
  const input = tiny(60, {
    data: { name: "mnist", limit: 1000 },
    log: { evalEvery: 20, evalImages: 128, sampleEvery: 60, checkpointEvery: 60 },
  });
  // The same weights the run starts from (same seed), scored the way the loop scores.
  const cfg = resolveRunConfig(input);
  const data = await loadRunData(cfg);
  const shape = completeWithData(cfg, data.train);
  manualSeed(cfg.train.seed);
  const fresh = hvaeFamily.create(cfg.hps as never, shape);
  const initial = scoreTestSet(fresh, cfg, data.test, { stage: "main", limit: 128 }).bpd as number;
  fresh.dispose();
  const res = await train(input, dir, { output: "quiet" });
  const evals = records(dir)
    .filter((r) => r.type === "eval")
    .map((r) => r.bpd!);
  assert.equal(evals.length, 3);
  const last = evals[2]!;
  // About 3.2 bits/dim at initialisation (most MNIST pixels sit in the edge bin at −1); 60 steps take ~1 off.
  const curve = `test bpd ${initial} at initialisation → ${evals.join(" → ")}`;
  assert.ok(initial > evals[0]! && evals[0]! > evals[1]! && evals[1]! > last && last < initial - 0.7, curve);
  assert.equal(res.eval!.bpd, last);
  assert.ok(existsSync(join(dir, "samples", "step-000060.png")));
  const run = await openRun(dir);
  assert.equal(run.step, 60);
  assert.deepEqual(run.image, { c: 1, h: 28, w: 28 });
  const a = sampleVideos(run, 5, { seed: 1, batch: 2 });
  assert.deepEqual(a.shape, { n: 5, t: 1, c: 1, h: 28, w: 28 });
  assert.equal(a.frames.length, 5 * 28 * 28);
  assert.deepEqual(sampleVideos(run, 5, { seed: 1, batch: 2 }), a, "the same seed gives the same samples");
  assert.notDeepEqual(sampleVideos(run, 5, { seed: 2, batch: 2 }).frames, a.frames);
  closeRun(run);
});

test("resume after an interruption equals the uninterrupted run (video model, pseudo videos)", async () => {
  const input = tiny(6, {
    spec: "expressive",
    frames: 3,
    log: { evalEvery: 3, evalImages: 32, sampleEvery: 6, sampleN: 2, checkpointEvery: 6 },
  });
  const straight = join(root, "straight"),
    broken = join(root, "broken");
  await train(input, straight, { output: "quiet" });
  const stopped = await train(input, broken, { output: "quiet", stopAt: 4 });
  assert.equal(stopped.finished, false);
  // A kill between moving a re-saved step's folder aside and renaming its replacement: the old one is used.
  renameSync(join(broken, "ckpt-000004"), join(broken, "ckpt-000004.old"));
  // A kill -9 during the next checkpoint write leaves a half-written folder and a torn metrics line.
  mkdirSync(join(broken, "ckpt-000006.tmp"));
  writeFileSync(join(broken, "ckpt-000006.tmp", "model.safetensors"), "partial");
  writeFileSync(
    join(broken, "metrics.jsonl"),
    readFileSync(join(broken, "metrics.jsonl"), "utf8") + '{"type":"train","step":5,"lo',
  );
  const resumed = await train({}, broken, { output: "quiet", resume: true });
  assert.equal(resumed.finished, true);
  assert.ok(!existsSync(join(broken, "ckpt-000006.tmp")));
  const strip = (rs: Record_[]) => rs.map((r) => JSON.stringify({ ...r, time: 0, images_per_s: 0 }));
  assert.deepEqual(strip(records(broken)), strip(records(straight)), "the same metrics, step by step");
  const a = readCheckpoint(join(straight, "ckpt-000006")),
    b = readCheckpoint(join(broken, "ckpt-000006"));
  for (const part of ["model", "ema", "optim"] as const)
    for (const [name, t] of a.tensors[part]) {
      const diff = t.sub(b.tensors[part].get(name)!).abs().max().item();
      assert.ok(diff <= 1e-6, `${part} ${name} differs by ${diff}`);
    }
  assert.equal(a.state.rng, b.state.rng);
});

test("a corrupt or truncated checkpoint is refused, naming the file", async () => {
  const dir = join(root, "corrupt");
  await train(tiny(2), dir, { output: "quiet" });
  const model = join(dir, "ckpt-000002", "model.safetensors");
  const bytes = readFileSync(model);
  bytes[bytes.length - 1]! ^= 1;
  writeFileSync(model, bytes);
  await assert.rejects(train({}, dir, { resume: true, output: "quiet" }), {
    name: "CheckpointError",
    message: `${model} does not match its checksum in state.json: the file is truncated or was modified`,
  });
  const ema = join(dir, "ckpt-000002", "ema.safetensors");
  truncateSync(ema, 100);
  await assert.rejects(openRun(dir), {
    name: "CheckpointError",
    message: `${ema} does not match its checksum in state.json: the file is truncated or was modified`,
  });
  writeFileSync(join(dir, "ckpt-000002", "state.json"), '{"step": 2, "sta');
  await assert.rejects(train({}, dir, { resume: true, output: "quiet" }), {
    message: `${join(dir, "ckpt-000002", "state.json")} is not valid JSON (truncated or edited?)`,
  });
});

test("a resume refused for its checkpoint writes nothing: config.json and metrics are kept, and it can be retried", async () => {
  const dir = join(root, "refused-resume");
  await train(tiny(2), dir, { output: "quiet" });
  const files = ["config.json", "metrics.jsonl"].map((f) => join(dir, f));
  const before = files.map((f) => readFileSync(f, "utf8"));
  const model = join(dir, "ckpt-000002", "model.safetensors");
  const bytes = readFileSync(model);
  bytes[bytes.length - 1]! ^= 1;
  writeFileSync(model, bytes);
  // Training longer would rewrite config.json (steps, extendedFrom), had the checkpoint been accepted.
  await assert.rejects(train({ train: { steps: 4 } }, dir, { resume: true, output: "quiet" }), {
    name: "CheckpointError",
  });
  assert.deepEqual(
    files.map((f) => readFileSync(f, "utf8")),
    before,
  );
  bytes[bytes.length - 1]! ^= 1;
  writeFileSync(model, bytes);
  assert.equal((await train({ train: { steps: 4 } }, dir, { resume: true, output: "quiet" })).step, 4);
});

test("a run folder is never overwritten, and resuming with a different config is refused", async () => {
  const dir = join(root, "mismatch");
  await train(tiny(2), dir, { output: "quiet" });
  await assert.rejects(train(tiny(2), dir, { output: "quiet" }), {
    message: `${dir} already holds a run (config.json); pass --resume to continue it, or choose another --out`,
  });
  await assert.rejects(
    train({ train: { lr: 0.5 }, preset: "small" }, dir, { resume: true, output: "quiet" }),
    (err: Error) => {
      assert.ok(err instanceof ArgumentError);
      assert.match(err.message, /holds a run with a different config/);
      assert.match(err.message, /preset: "tiny" in the run, "small" requested/);
      assert.match(err.message, /train\.lr: 0\.002 in the run, 0\.5 requested/);
      return true;
    },
  );
  // Log intervals never change the weights: they may differ.
  const done = await train({ log: { evalEvery: 1 } }, dir, { resume: true, output: "quiet" });
  assert.equal(done.step, 2);
});

test("one trainer at a time in a run folder; a killed trainer's lock is taken over; a refused run leaves no folder", async () => {
  const dir = join(root, "locked");
  await train(tiny(2), dir, { output: "quiet" });
  const lock = join(dir, "lock");
  assert.equal(existsSync(lock), false, "the lock is released when training ends");
  // A live process holds the folder: refused, naming it, and the run is untouched.
  const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
  try {
    writeFileSync(lock, `${holder.pid} ${hostname()}\n`);
    const before = readFileSync(join(dir, "metrics.jsonl"), "utf8");
    await assert.rejects(train({ train: { steps: 4 } }, dir, { resume: true, output: "quiet" }), {
      name: "ArgumentError",
      message: `${dir} is in use: process ${holder.pid} is training this run (if it is not, remove ${lock})`,
    });
    assert.equal(readFileSync(join(dir, "metrics.jsonl"), "utf8"), before);
    assert.equal(readFileSync(lock, "utf8"), `${holder.pid} ${hostname()}\n`, "another's lock is kept");
  } finally {
    holder.kill("SIGKILL");
    await new Promise((resolve) => holder.once("exit", resolve));
  }
  // The same lock once its process is gone (as after kill -9): stale, taken over, and the run resumes.
  const done = await train({ train: { steps: 4 } }, dir, { resume: true, output: "quiet" });
  assert.equal(done.step, 4);
  assert.equal(existsSync(lock), false);
  // A lock held by a zombie (a dead trainer nobody reaped) is stale too. `sleep 0` is left unreaped by the shell
  // that execs into `sleep 30` after starting it.
  const parent = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 30"]);
  try {
    const zombie = Number(
      await new Promise<string>((resolve) => parent.stdout.once("data", (d) => resolve(String(d)))),
    );
    for (let i = 0; i < 200 && processState(zombie) !== "Z"; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(processState(zombie), "Z");
    writeFileSync(lock, `${zombie} ${hostname()}\n`);
    assert.equal((await train({ train: { steps: 5 } }, dir, { resume: true, output: "quiet" })).step, 5);
  } finally {
    parent.kill("SIGKILL");
  }
  // A run refused before it starts writes nothing, not even its folder.
  const refused = join(root, "refused");
  await assert.rejects(train(tiny(2, { preset: "huge" }), refused, { output: "quiet" }), /Unknown preset/);
  assert.equal(existsSync(refused), false);
});

test("a resume may train longer (the config records it); fewer steps are refused", async () => {
  const dir = join(root, "longer");
  await train(tiny(2), dir, { output: "quiet" });
  const done = await train({ train: { steps: 4 } }, dir, { resume: true, output: "quiet" });
  assert.equal(done.step, 4);
  assert.deepEqual(
    records(dir)
      .filter((r) => r.type === "train")
      .map((r) => r.step),
    [1, 2, 3, 4],
  );
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as {
    train: { steps: number };
    provenance: { extendedFrom: string };
  };
  assert.equal(cfg.train.steps, 4);
  assert.match(cfg.provenance.extendedFrom, /^2 steps, at /);
  await assert.rejects(train({ train: { steps: 3 } }, dir, { resume: true, output: "quiet" }), {
    message: /train\.steps: 4 in the run, 3 requested/,
  });
});

test("non-finite losses are skipped and counted; persistent ones stop the run, keeping the last good checkpoint", async () => {
  // hvae tiny whose loss turns NaN from the 4th step on.
  let calls = 0;
  const nanFamily: ModelFamily = {
    ...hvaeFamily,
    name: "nan-after-3",
    create(cfg, shape) {
      const m = hvaeFamily.create(cfg as never, shape) as TrainableModel;
      const loss = m.loss.bind(m);
      m.loss = (v, stage) => {
        const out = loss(v, stage);
        return ++calls > 3 ? { ...out, loss: out.loss.mul(NaN) } : out;
      };
      return m;
    },
  };
  registerFamily(nanFamily);
  const dir = join(root, "nan");
  const input = tiny(40, {
    model: "nan-after-3",
    train: { steps: 40, batch: 8, seed: 3, maxBadSteps: 5 },
    log: { checkpointEvery: 2, evalEvery: 40, evalImages: 16, sampleEvery: 40, sampleN: 2 },
  });
  await assert.rejects(train(input, dir, { output: "quiet" }), (err: Error) => {
    assert.ok(err instanceof TrainingError);
    assert.equal(
      err.message,
      `training stopped at step 8: the loss or its gradients were not finite for 5 steps in a row (try a lower --lr or train.gradClip). ` +
        `The last good checkpoint is ${join(dir, "ckpt-000002")}; nothing was saved after the divergence.`,
    );
    return true;
  });
  // The checkpoints due at steps 4 and 6 fell inside the non-finite steps: the one of step 2 is kept.
  assert.deepEqual(
    readdirSync(dir).filter((e) => e.startsWith("ckpt")),
    ["ckpt-000002"],
  );
  assert.equal(readState(join(dir, "ckpt-000002", "state.json")).badInARow, 0);
  const train_ = records(dir).filter((r) => r.type === "train");
  assert.deepEqual(
    train_.map((r) => r.skipped),
    [0, 0, 0, 1, 2, 3, 4, 5],
  );
});
