// `lastframe video` end to end on a small CIFAR-10 binary folder written here: the PNG grid's layout and last
// column, the GIF's frames, the metrics JSON, and flag errors.
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { main } from "../../src/cli/main.js";
import { videoCommand } from "../../src/cli/video.js";

const root = mkdtempSync(join(tmpdir(), "lastframe-video-cli-"));
process.env.LASTFRAME_CACHE = join(root, "cache");

/** A cifar-10-batches-bin folder with smooth random images: `train` and `test` records. */
function writeCifar(train: number, test: number): { dir: string; testImages: Uint8Array[] } {
  const dir = join(root, "cifar-10-batches-bin");
  mkdirSync(dir, { recursive: true });
  const testImages: Uint8Array[] = [];
  const batch = (n: number, seed: number, keep: boolean) => {
    const buf = new Uint8Array(n * 3073);
    for (let i = 0; i < n; i++) {
      buf[i * 3073] = i % 10;
      const img = buf.subarray(i * 3073 + 1, (i + 1) * 3073);
      for (let ch = 0; ch < 3; ch++)
        for (let p = 0; p < 1024; p++)
          img[ch * 1024 + p] = (((p >> 5) * (3 + i + seed) + (p & 31) * (5 + ch)) * 7) % 256;
      if (keep) testImages.push(img.slice());
    }
    return buf;
  };
  writeFileSync(join(dir, "data_batch_1.bin"), batch(train, 1, false));
  writeFileSync(join(dir, "test_batch.bin"), batch(test, 2, true));
  return { dir, testImages };
}

async function capture(fn: () => Promise<unknown>): Promise<{ out: string; err: string; result: unknown }> {
  const [log, error, write] = [console.log, console.error, process.stderr.write];
  let out = "";
  let err = "";
  console.log = (...a: unknown[]) => void (out += a.join(" ") + "\n");
  console.error = (...a: unknown[]) => void (err += a.join(" ") + "\n");
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    const result = await fn();
    return { out, err, result };
  } finally {
    [console.log, console.error, process.stderr.write] = [log, error, write];
  }
}

const { dir, testImages } = writeCifar(20, 12);

test("writes a PNG grid (one row per image, frames as columns, the image last) and a GIF of the videos", async () => {
  const png = join(root, "grid.png");
  const gif = join(root, "v.gif");
  await capture(() =>
    videoCommand([
      "--data",
      dir,
      "--spec",
      "expressive",
      "--frames",
      "4",
      "--n",
      "3",
      "--out",
      png,
      "--gif",
      gif,
      "--seed",
      "2",
    ]),
  );
  // 32-pixel images are shown at 2×, with 2 pixels of padding around every tile.
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [2 + 4 * 66, 2 + 3 * 66, 3]);
  const tile = (row: number, col: number) => {
    const out = new Uint8Array(3072);
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++)
        for (let ch = 0; ch < 3; ch++)
          out[ch * 1024 + y * 32 + x] =
            data[((2 + row * 66 + 2 * y) * info.width + 2 + col * 66 + 2 * x) * 3 + ch]!;
    return out;
  };
  const known = new Set(testImages.map((im) => Buffer.from(im).toString("hex")));
  for (let row = 0; row < 3; row++) {
    assert.ok(
      known.has(Buffer.from(tile(row, 3)).toString("hex")),
      `row ${row}: the last frame is a test image`,
    );
    assert.ok(
      !known.has(Buffer.from(tile(row, 0)).toString("hex")),
      `row ${row}: the first frame is corrupted`,
    );
  }
  // The GIF plays the 3 videos side by side in one row (rows of up to 8, not a square grid with holes).
  const meta = await sharp(gif).metadata();
  assert.deepEqual([meta.format, meta.pages, meta.width, meta.height], ["gif", 4, 2 + 3 * 66, 2 + 66]);
});

test("--metrics --json prints one object with per-frame statistics", async () => {
  const { out } = await capture(() =>
    videoCommand([
      "--data",
      dir,
      "--spec",
      "noise-chain",
      "--frames",
      "4",
      "--metrics",
      "--json",
      "--metrics-images",
      "12",
      "--draws",
      "2",
    ]),
  );
  const r = JSON.parse(out) as {
    data: string;
    spec: { name: string; frames: number };
    metrics: { images: number; perFrame: { frame: number; psnr: number; gain: number | null }[] };
  };
  assert.equal(r.spec.name, "noise-chain");
  assert.equal(r.metrics.images, 12);
  assert.deepEqual(
    r.metrics.perFrame.map((f) => f.frame),
    [1, 2, 3, 4],
  );
  assert.equal(r.metrics.perFrame[0]!.gain, null);
  assert.ok(r.metrics.perFrame[0]!.psnr < r.metrics.perFrame[2]!.psnr);
  const table = await capture(() =>
    videoCommand(["--data", dir, "--spec", "none", "--metrics", "--metrics-images", "12"]),
  );
  assert.match(table.out, /^none: T = 1, direct order, 12 cifar-10-batches-bin test images, 4 draws each/);
  assert.match(
    table.out,
    /\n1 \(image\) +100\.00 +1\.000 +0\.000 +— +100( 100){7}\nhigher-order gain: — \(needs T ≥ 3\)\n/,
  );
});

test("flag mistakes exit 2 with one line naming the flag", async () => {
  const cases: [string[], string][] = [
    [[], "lastframe video: Expected --data <name|path> for 'lastframe video'\n"],
    [["--data", dir], "lastframe video: Nothing to do: give --out grid.png, --gif anim.gif or --metrics\n"],
    [
      ["--data", dir, "--metrics", "--frames", "0"],
      "lastframe video: Expected positive integer for --frames but received 0\n",
    ],
    [
      ["--data", dir, "--metrics", "--spec", "blurry"],
      `lastframe video: Expected a preset (none, noise-chain, blur-chain, independent, momentum, mixture, expressive, noise-control, shuffle-control) or the path of a .json file for spec but received "blurry" (string)\n`,
    ],
    [
      ["--data", dir, "--metrics", "--draws", "1"],
      "lastframe video: Expected integer of at least 2 for --draws but received 1\n",
    ],
    [
      ["--data", dir, "--metrics", "--split", "valid"],
      'lastframe video: Expected one of train, test for --split but received "valid"\n',
    ],
  ];
  for (const [args, message] of cases) {
    const { err, result } = await capture(() => main(["video", ...args]));
    assert.equal(result, 2, args.join(" "));
    assert.equal(err, message);
  }
});

test("a plain folder (no train/test sub-folders) is previewed whole: its train split is the default", async () => {
  const plain = join(root, "plain");
  mkdirSync(plain, { recursive: true });
  for (let i = 0; i < 25; i++) {
    const px = Buffer.alloc(16 * 16 * 3, (i * 10) % 256);
    await sharp(px, { raw: { width: 16, height: 16, channels: 3 } })
      .png()
      .toFile(join(plain, `${i}.png`));
  }
  const out = join(root, "plain.png");
  const { err } = await capture(() =>
    videoCommand(["--data", plain, "--spec", "none", "--frames", "1", "--n", "8", "--out", out]),
  );
  assert.match(err, /wrote .*plain\.png: 8 plain train images × 1 frames of none/);
  const meta = await sharp(out).metadata();
  assert.equal(meta.height, 2 + 8 * (2 * 16 + 2));
});
