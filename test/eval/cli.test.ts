// `lastframe eval`, `stats` and `featnet` end to end on folders of PNG digits, with a small MNIST feature net
// stored in a temporary cache (LASTFRAME_CACHE), so nothing is downloaded or trained for minutes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { loadDataset, type ImageSet } from "../../src/data/index.js";
import { evaluate } from "../../src/eval/evaluate.js";
import { featnetConfigs } from "../../src/eval/featnets.js";
import { saveFeatNet, trainFeatNet } from "../../src/eval/featnet-train.js";
import { train } from "../../src/train/loop.js";
import { videoFrame } from "../../src/train/data.js";
import { closeRun, openRun, testVideos } from "../../src/run/run.js";

const root = mkdtempSync(path.join(tmpdir(), "lastframe-eval-"));
const cache = path.join(root, "cache");
const bin = fileURLToPath(new URL("../../../bin/lastframe.js", import.meta.url));
const folder = (name: string) => path.join(root, name);
let featnetId = "";
const savedEnv = process.env.LASTFRAME_CACHE;

async function writePngs(
  dir: string,
  set: ImageSet,
  count: number,
  map: (v: number) => number = (v) => v,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const per = set.h * set.w;
  for (let i = 0; i < count; i++) {
    const pixels = Buffer.from(set.images.subarray(i * per, (i + 1) * per).map(map));
    await sharp(pixels, { raw: { width: set.w, height: set.h, channels: 1 } })
      .png()
      .toFile(path.join(dir, `${String(i).padStart(4, "0")}.png`));
  }
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    env: { ...process.env, LASTFRAME_CACHE: cache },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  const mnist = await loadDataset("mnist", { limit: 2000, progress: false });
  await writePngs(folder("digits"), mnist.test, 200);
  await writePngs(folder("same"), mnist.test, 200);
  await writePngs(folder("inverted"), mnist.test, 200, (v) => 255 - v);
  await writePngs(folder("single"), mnist.test, 1);
  await writePngs(folder("three"), mnist.test, 3);
  // A quickly trained net in the MNIST net's place: enough to give a meaningful feature space for the test.
  const cfg = { ...featnetConfigs.mnist, epochs: 1 };
  const { net, accuracy } = trainFeatNet(cfg, mnist, { progress: false });
  const info = saveFeatNet(path.join(cache, "featnets", "mnist"), net, {
    data: "mnist",
    config: cfg,
    accuracy,
    trainImages: mnist.train.n,
    testImages: mnist.test.n,
    seconds: 0,
    dataSha256: "test",
    torch: "1.13",
    threads: 1,
    createdAt: "test",
  });
  net.dispose();
  featnetId = info.id;
  process.env.LASTFRAME_CACHE = cache;
});

after(() => {
  if (savedEnv === undefined) delete process.env.LASTFRAME_CACHE;
  else process.env.LASTFRAME_CACHE = savedEnv;
  rmSync(root, { recursive: true, force: true });
});

test("identical folders: FD 0, precision and recall 1; an inverted folder is far away", async () => {
  const same = await evaluate(folder("same"), {
    metrics: ["fd", "kid", "pr"],
    n: 200,
    data: folder("digits"),
    featnet: "mnist",
    progress: false,
  });
  assert.ok(Math.abs(same.fd!) < 1e-3, `FD ${same.fd}`);
  assert.deepEqual(same.pr, { precision: 1, recall: 1, k: 3 });
  assert.deepEqual([same.n, same.refN, same.kid!.subsets, same.kid!.subsetSize], [200, 200, 1, 200]);
  assert.equal(same.featnet!.id, featnetId);
  const far = await evaluate(folder("inverted"), {
    metrics: ["fd", "kid", "pr"],
    n: 200,
    data: folder("digits"),
    featnet: "mnist",
    progress: false,
  });
  assert.ok(far.fd! > 1, `FD ${far.fd}`);
  assert.ok(far.kid!.mean > Math.abs(same.kid!.mean) + 0.1, `KID ${far.kid!.mean} vs ${same.kid!.mean}`);
  assert.ok(far.pr!.precision < 0.5 && far.pr!.recall < 0.5, JSON.stringify(far.pr));
});

test("lastframe eval --json prints one object and writes the same to eval.json", () => {
  const r = cli(
    "eval",
    folder("same"),
    "--data",
    folder("digits"),
    "--featnet",
    "mnist",
    "--n",
    "150",
    "--kid-subsets",
    "5",
    "--kid-subset-size",
    "100",
    "--json",
  );
  assert.equal(r.status, 0, r.stderr);
  const printed = JSON.parse(r.stdout);
  assert.deepEqual(JSON.parse(readFileSync(path.join(folder("same"), "eval.json"), "utf8")), printed);
  assert.deepEqual(
    [printed.kind, printed.n, printed.refN, printed.kid.subsets, printed.kid.subsetSize],
    ["folder", 150, 150, 5, 100],
  );
  assert.ok(printed.fd >= -1e-6 && printed.timings.featnet_features > 0);
});

test("lastframe eval prints a table; --no-write leaves the folder alone", () => {
  const r = cli(
    "eval",
    folder("inverted"),
    "--data",
    folder("digits"),
    "--featnet",
    "mnist",
    "--metrics",
    "fd,pr",
    "--no-write",
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(`^${folder("inverted")} vs digits train: 200 generated vs 200 reference images`),
  );
  assert.match(
    r.stdout,
    new RegExp(`\\nfd +\\d+(\\.\\d+)?  featnet mnist ${featnetId} \\(test accuracy \\d+\\.\\d%\\)\\n`),
  );
  assert.match(r.stdout, /\nprecision +0(\.\d+)? {2}k = 3\nrecall +0(\.\d+)? {2}k = 3\n$/);
  assert.equal(existsSync(path.join(folder("inverted"), "eval.json")), false);
});

test("user mistakes exit 2 with one line naming the problem", () => {
  const cases: [string[], string][] = [
    [
      ["eval", folder("digits"), "--data", folder("same"), "--metrics", "bpd"],
      `lastframe eval: bpd needs a trained run (a folder with config.json), but ${folder("digits")} is a folder of images\n`,
    ],
    [
      ["eval", folder("digits"), "--metrics", "fd,xyz"],
      'lastframe eval: Expected metrics among fd, kid, pr, bpd, fid but received "xyz"\n',
    ],
    [
      ["eval", folder("digits"), "--data", folder("same"), "--metrics", "fid"],
      "lastframe eval: fid needs --inception-weights <pt_inception-2015-12-05-6726825d.pth> (see README: Evaluation)\n",
    ],
    [
      ["eval", folder("nowhere")],
      `lastframe eval: ${folder("nowhere")} does not exist: expected a run folder or a folder of images\n`,
    ],
    [
      ["eval", folder("digits"), "--data", folder("same"), "--n", "1"],
      "lastframe eval: Expected integer of at least 4 (images to score) for n but received 1 (number)\n",
    ],
    [
      ["featnet", "--data", "celeba64"],
      'lastframe featnet: Expected one of mnist, fashion-mnist, cifar10 for --data but received "celeba64"\n',
    ],
  ];
  for (const [args, message] of cases) {
    const r = cli(...args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr, message);
  }
  // Found only once the folder is read (after the reference is prepared, which may print progress first).
  const single = cli(
    "eval",
    folder("single"),
    "--data",
    folder("same"),
    "--featnet",
    "mnist",
    "--metrics",
    "fd",
  );
  assert.equal(single.status, 2, single.stderr);
  assert.match(
    single.stderr,
    /(^|\n)lastframe eval: \S+single holds 1 image\(s\): the metrics need at least 2\n$/,
  );
});

test("precision/recall on a 3-image folder says what is too small and the minimum", () => {
  const r = cli("eval", folder("three"), "--data", folder("same"), "--featnet", "mnist", "--metrics", "pr");
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /(^|\n)lastframe eval: \S+three holds 3 image\(s\): pr \(the 3 nearest neighbours of each image\) needs at least 4\n$/,
  );
  const ref = cli(
    "eval",
    folder("same"),
    "--data",
    folder("three"),
    "--featnet",
    "mnist",
    "--metrics",
    "fd,pr",
  );
  assert.equal(ref.status, 2, ref.stderr);
  assert.match(ref.stderr, /The train split of three has 3 images: pr \(.*\) needs at least 4\n$/);
});

test("lastframe stats computes reference statistics once, then reuses them by provenance", () => {
  const first = cli("stats", "--data", folder("same"), "--featnet", "mnist", "--json");
  assert.equal(first.status, 0, first.stderr);
  const [a] = JSON.parse(first.stdout).stats;
  // A folder without split folders has all its images in train, which is then the default split.
  assert.deepEqual(
    [a.fromCache, a.data, a.split, a.n, a.space, a.spaceId],
    [false, "same", "train", 200, "featnet-mnist", featnetId],
  );
  assert.match(a.dataSha256, /^[0-9a-f]{64}$/);
  const second = JSON.parse(cli("stats", "--data", folder("same"), "--featnet", "mnist", "--json").stdout)
    .stats[0];
  assert.equal(second.fromCache, true);
  assert.equal(second.file, a.file);
  const stored = cli("featnet", "--data", "mnist", "--json");
  assert.equal(JSON.parse(stored.stdout).id, featnetId, "a stored net is reported, not retrained");
  const other = cli("featnet", "--data", "mnist", "--seed", "7");
  assert.equal(other.status, 2);
  assert.equal(
    other.stderr,
    "lastframe featnet: A mnist feature net trained with epochs 1, seed 0 is stored; add --force to replace it\n",
  );
});

test("lastframe eval on a trained run samples it, adds its test bits/dim and writes eval.json into the run", async () => {
  const run = path.join(root, "run");
  await train(
    {
      model: "hvae",
      preset: "tiny",
      data: { name: "mnist", limit: 100 },
      train: { steps: 1, batch: 8, seed: 1 },
      log: { evalEvery: 1, evalImages: 16, sampleEvery: 1, sampleN: 4, checkpointEvery: 1 },
    },
    run,
    { output: "quiet" },
  );
  const r = cli(
    "eval",
    run,
    "--data",
    folder("digits"),
    "--featnet",
    "mnist",
    "--n",
    "40",
    "--bpd-images",
    "24",
    "--json",
  );
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(
    [report.kind, report.run.step, report.run.model, report.n, report.refN],
    ["run", 1, "hvae", 40, 40],
  );
  assert.ok(report.bpd.bpd > 0 && report.bpd.bpd < 8, `bpd ${report.bpd.bpd}`);
  assert.ok(Number.isFinite(report.fd) && report.pr.precision >= 0 && report.kid.subsets === 1);
  assert.deepEqual(JSON.parse(readFileSync(path.join(run, "eval.json"), "utf8")), report);

  // bpd alone needs no reference images: the report names the run's own data.
  const bpdOnly = cli("eval", run, "--metrics", "bpd", "--bpd-images", "24", "--no-write", "--json");
  assert.equal(bpdOnly.status, 0, bpdOnly.stderr);
  const only = JSON.parse(bpdOnly.stdout);
  assert.equal(only.data, "mnist");
  assert.equal(only.bpd.bpd, report.bpd.bpd);
  assert.equal(only.fd, undefined);
});

test("lastframe eval --per-frame: a video run's frame positions against its own test pseudo videos", async () => {
  const run = path.join(root, "video-run");
  const input = {
    model: "hvae",
    preset: "tiny",
    data: { name: "mnist", limit: 100 },
    spec: "noise-chain",
    frames: 3,
    train: { steps: 1, batch: 8, seed: 1 },
    log: { evalEvery: 1, evalImages: 16, sampleEvery: 1, sampleN: 4, checkpointEvery: 1 },
  };
  await train(input, run, { output: "quiet" });
  const args = [
    "eval",
    run,
    "--metrics",
    "fd",
    "--featnet",
    "mnist",
    "--n",
    "24",
    "--per-frame",
    "--no-write",
  ];
  const r = cli(...args, "--json");
  assert.equal(r.status, 0, r.stderr);
  const { fd, frames } = JSON.parse(r.stdout);
  assert.deepEqual([frames.n, frames.refN, frames.fd.length, frames.closest.length], [24, 24, 3, 3]);
  assert.ok(
    frames.fd.flat().every((v: number) => Number.isFinite(v) && v >= 0),
    JSON.stringify(frames.fd),
  );
  for (const [i, row] of frames.fd.entries())
    assert.equal(frames.closest[i], row.indexOf(Math.min(...row)) + 1);

  // The real side is the run's own test pseudo videos: their last frames are the first test images, cropped
  // back to 28×28, and the earlier ones are noisier versions of them.
  const opened = await openRun(run);
  try {
    const real = await testVideos(opened, 24);
    const mnist = await loadDataset("mnist", { limit: 100, progress: false });
    assert.deepEqual(real.shape, { n: 24, t: 3, c: 1, h: 28, w: 28 });
    assert.deepEqual(videoFrame(real.frames, real.shape, 2), mnist.test.images.subarray(0, 24 * 28 * 28));
    assert.notDeepEqual(videoFrame(real.frames, real.shape, 0), videoFrame(real.frames, real.shape, 2));
    // The last frames scored for fd are the last frames of the same sampled videos.
    assert.equal(
      fd,
      JSON.parse(
        cli("eval", run, "--metrics", "fd", "--featnet", "mnist", "--n", "24", "--no-write", "--json").stdout,
      ).fd,
    );
  } finally {
    closeRun(opened);
  }
  const table = cli(...args);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /fd per frame position: 24 generated vs 24 of the run's test pseudo videos/);
  assert.match(table.stdout, /\ngenerated +real 1 +real 2 +real 3\nframe 1 /);

  const image = path.join(root, "image-run");
  await train({ ...input, spec: "none", frames: 1 }, image, { output: "quiet" });
  const notVideo = cli("eval", image, "--metrics", "fd", "--per-frame", "--n", "8");
  assert.equal(notVideo.status, 2);
  assert.equal(
    notVideo.stderr,
    `lastframe eval: --per-frame needs a video run, but ${image} trains an image model (T = 1 in its config)\n`,
  );
  const onFolder = cli("eval", folder("digits"), "--data", folder("same"), "--per-frame");
  assert.equal(onFolder.status, 2);
  assert.match(
    onFolder.stderr,
    /--per-frame needs a trained video run \(a folder with config\.json\), but \S+digits is a folder of images/,
  );
});
