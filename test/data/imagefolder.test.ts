import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { loadDataset, DataError } from "../../src/data/index.js";
import { makeTar, quiet, tempDir } from "./helpers.js";

/** A solid-colour image of the given size and channels (1 grey, 3 RGB, 4 RGBA), encoded. */
async function solid(
  w: number,
  h: number,
  channels: 1 | 3 | 4,
  rgb: [number, number, number],
  format: "png" | "jpeg" | "webp",
): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * channels);
  for (let p = 0; p < w * h; p++) {
    if (channels === 1) raw[p] = rgb[0];
    else {
      raw[p * channels] = rgb[0];
      raw[p * channels + 1] = rgb[1];
      raw[p * channels + 2] = rgb[2];
      if (channels === 4) raw[p * channels + 3] = 255;
    }
  }
  let img = sharp(raw, { raw: { width: w, height: h, channels } });
  if (channels === 1) img = img.toColourspace("b-w"); // else sharp writes grey as RGB
  return format === "png"
    ? img.png().toBuffer()
    : format === "jpeg"
      ? img.jpeg({ quality: 100, chromaSubsampling: "4:4:4" }).toBuffer()
      : img.webp({ lossless: true }).toBuffer();
}

async function classFolder(): Promise<string> {
  const dir = path.join(tempDir("imgs"), "shapes");
  const put = async (rel: string, data: Buffer | string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), data);
  };
  // Mixed sizes, channel counts and formats.
  await put("red/a.png", await solid(20, 20, 3, [255, 0, 0], "png"));
  await put("red/b.jpg", await solid(40, 30, 3, [255, 0, 0], "jpeg"));
  await put("red/c.webp", await solid(12, 24, 4, [255, 0, 0], "webp"));
  await put("grey/a.png", await solid(16, 16, 1, [128, 128, 128], "png"));
  await put("grey/b.png", await solid(50, 10, 1, [128, 128, 128], "png"));
  await put("notes.txt", "not an image\n");
  await put("grey/README.md", "# also not an image\n");
  return dir;
}

function planeMean(images: Uint8Array, i: number, c: number, ch: number, hw: number): number {
  let s = 0;
  const base = (i * c + ch) * hw;
  for (let p = 0; p < hw; p++) s += images[base + p]!;
  return s / hw;
}

test("image folder: class sub-folders, mixed sizes/channels/formats resized to 8x8 RGB, text files ignored", async () => {
  const dir = await classFolder();
  // Images outside class folders would make it unlabelled; here only text files are at the top.
  const d = await loadDataset(dir, { ...quiet(), cache: false, size: 8, channels: 3 });
  assert.equal(d.info.format, "image-folder");
  assert.equal(d.name, "shapes");
  assert.equal(d.info.ignored, 2);
  assert.deepEqual([d.train.n, d.train.c, d.train.h, d.train.w], [5, 3, 8, 8]);
  assert.equal(d.test.n, 0);
  assert.deepEqual(d.train.classes, ["grey", "red"]);
  assert.deepEqual(Array.from(d.train.labels!), [0, 0, 1, 1, 1]); // grey/a grey/b red/a red/b red/c
  const hw = 64;
  for (let i = 0; i < 2; i++)
    for (let ch = 0; ch < 3; ch++) assert.ok(Math.abs(planeMean(d.train.images, i, 3, ch, hw) - 128) <= 2);
  for (let i = 2; i < 5; i++) {
    assert.ok(planeMean(d.train.images, i, 3, 0, hw) > 250, `red plane of image ${i}`);
    assert.ok(planeMean(d.train.images, i, 3, 1, hw) < 5, `green plane of image ${i}`);
  }
});

test("image folder: 1-channel output, non-square size, default size from the first image", async () => {
  const dir = await classFolder();
  const g = await loadDataset(dir, { ...quiet(), cache: false, size: [6, 10], channels: 1 });
  assert.deepEqual([g.train.n, g.train.c, g.train.h, g.train.w], [5, 1, 6, 10]);
  // Luminance of pure red is about 54 (sRGB Rec.709 weights).
  const red = planeMean(g.train.images, 2, 1, 0, 60);
  assert.ok(red > 40 && red < 90, `grey level of red ${red}`);
  const dflt = await loadDataset(dir, { ...quiet(), cache: false });
  // First image in sorted order is grey/a.png: 16x16, grey.
  assert.deepEqual([dflt.train.c, dflt.train.h, dflt.train.w], [1, 16, 16]);
});

test("image folder: a corrupt image fails naming the file, or is skipped with skipCorrupt", async () => {
  const dir = await classFolder();
  const good = await solid(20, 20, 3, [0, 0, 255], "jpeg");
  fs.writeFileSync(path.join(dir, "red", "truncated.jpg"), good.subarray(0, Math.floor(good.length / 2)));
  fs.writeFileSync(path.join(dir, "red", "text.png"), "this is text, not a PNG");
  await assert.rejects(loadDataset(dir, { ...quiet(), cache: false, size: 8, channels: 3 }), (e: Error) => {
    assert.ok(e instanceof DataError, String(e));
    assert.match(e.message, /Corrupt or unreadable image .*red\/(truncated\.jpg|text\.png)/);
    return true;
  });
  const d = await loadDataset(dir, { ...quiet(), cache: false, size: 8, channels: 3, skipCorrupt: true });
  assert.equal(d.train.n, 5);
  assert.equal(d.info.skipped.length, 2);
  assert.match(d.info.skipped[0]!, /red\/text\.png$/);
  assert.match(d.info.skipped[1]!, /red\/truncated\.jpg$/);
  assert.deepEqual(Array.from(d.train.labels!), [0, 0, 1, 1, 1]);
  assert.ok(planeMean(d.train.images, 4, 3, 0, 64) > 250);
});

test("image folder: a PNG or TIFF cut short inside its last chunks fails naming the file", async () => {
  // A 32x32 gradient compresses to a few hundred bytes, so its first 300 bytes end inside IDAT's CRC or IEND:
  // the bytes libspng decodes without complaint.
  const raw = Buffer.alloc(32 * 32 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 37) & 255;
  const png = await sharp(raw, { raw: { width: 32, height: 32, channels: 3 } })
    .png()
    .toBuffer();
  const tiff = await sharp(raw, { raw: { width: 32, height: 32, channels: 3 } })
    .tiff()
    .toBuffer();
  for (const [name, bytes] of [
    ["cut.png", png.subarray(0, png.length - 16)],
    ["noend.png", png.subarray(0, png.length - 12)],
    ["cut.tiff", tiff.subarray(0, tiff.length - 60)],
  ] as const) {
    const dir = path.join(tempDir("cut"), "train");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "good.png"), png);
    fs.writeFileSync(path.join(dir, name), bytes);
    await assert.rejects(loadDataset(path.dirname(dir), { ...quiet(), cache: false }), (e: Error) => {
      assert.ok(e instanceof DataError, String(e));
      assert.match(
        e.message,
        new RegExp(`^Corrupt or unreadable image .*train/${name.replace(".", "\\.")}: `),
      );
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
  }
});

test("image folder: train/test split folders, unlabelled folders, testFraction, archives", async () => {
  const root = tempDir("splits");
  const dir = path.join(root, "ds");
  const blue = await solid(10, 10, 3, [0, 0, 255], "png");
  for (const rel of [
    "train/cat/1.png",
    "train/cat/2.png",
    "train/dog/1.png",
    "test/cat/9.png",
    "test/dog/9.png",
    "val/dog/5.png",
  ]) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), blue);
  }
  const d = await loadDataset(dir, { ...quiet(), cache: false });
  assert.deepEqual([d.train.n, d.test.n, d.valid?.n], [3, 2, 1]);
  assert.deepEqual(d.train.classes, ["cat", "dog"]);
  assert.deepEqual(Array.from(d.test.labels!), [0, 1]);

  // The same tree as a .tar.gz with one top-level folder.
  const tarFile = path.join(root, "ds.tar.gz");
  const entries = [
    "train/cat/1.png",
    "train/cat/2.png",
    "train/dog/1.png",
    "test/cat/9.png",
    "test/dog/9.png",
  ].map((rel) => ({
    name: `ds/${rel}`,
    data: blue,
  }));
  fs.writeFileSync(tarFile, makeTar(entries));
  const t = await loadDataset(tarFile, { ...quiet(), cache: false });
  assert.deepEqual([t.train.n, t.test.n], [3, 2]);
  assert.deepEqual(Array.from(t.train.labels!), [0, 0, 1]);

  // A flat folder: unlabelled; testFraction holds some out, stably.
  const flat = path.join(root, "flat");
  fs.mkdirSync(flat);
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(flat, `img${i}.png`), blue);
  const f = await loadDataset(flat, { ...quiet(), cache: false, testFraction: 0.25 });
  assert.equal(f.train.labels, null);
  assert.equal(f.train.classes, null);
  assert.equal(f.train.n + f.test.n, 40);
  assert.ok(f.test.n > 2 && f.test.n < 20, `test size ${f.test.n}`);
  const f2 = await loadDataset(flat, { ...quiet(), cache: false, testFraction: 0.25 });
  assert.equal(f2.test.n, f.test.n);
});

test("image folder: a directory symlink loop is followed once, so 2 PNGs load as 2 images", async () => {
  const root = path.join(tempDir("loop"), "ds");
  const blue = await solid(10, 10, 3, [0, 0, 255], "png");
  fs.mkdirSync(path.join(root, "sub"), { recursive: true });
  fs.writeFileSync(path.join(root, "a.png"), blue);
  fs.writeFileSync(path.join(root, "sub", "b.png"), blue);
  fs.symlinkSync("..", path.join(root, "sub", "up")); // sub/up/sub/up/... back to the root
  const d = await loadDataset(root, { ...quiet(), cache: false });
  assert.equal(d.train.n + d.test.n, 2);
});

test("image folder errors: missing path, empty folder, folder without images, plain file", async () => {
  const root = tempDir("empty");
  await assert.rejects(loadDataset(path.join(root, "nope"), quiet()), (e: Error) => {
    assert.ok(e instanceof DataError);
    assert.match(e.message, /Data path .*nope does not exist/);
    return true;
  });
  fs.mkdirSync(path.join(root, "empty"));
  await assert.rejects(loadDataset(path.join(root, "empty"), quiet()), /empty.* is empty/);
  fs.mkdirSync(path.join(root, "texts"));
  fs.writeFileSync(path.join(root, "texts", "a.txt"), "x");
  await assert.rejects(
    loadDataset(path.join(root, "texts"), quiet()),
    /No images found in .*texts .*1 other file\(s\) ignored/,
  );
  fs.writeFileSync(path.join(root, "file.bin"), "x");
  await assert.rejects(
    loadDataset(path.join(root, "file.bin"), quiet()),
    /file\.bin is a file but not a \.tar/,
  );
  await assert.rejects(
    loadDataset("cifar10", { ...quiet(), size: 0 }),
    /Expected a positive integer or \[height, width\] for size/,
  );
  await assert.rejects(
    loadDataset("mnist", { ...quiet(), channels: 2 as 1 }),
    /Expected 1 or 3 for channels/,
  );
});
