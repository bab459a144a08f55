import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import {
  encodeGif,
  encodePng,
  encodeVideoGrid,
  gifFrameDelayMs,
  writeGif,
  writeGrid,
  writeVideoGrid,
} from "../../src/modality/image-grid.js";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "lastframe-image-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Deterministic distinct-ish pixel value for image i, channel ch, row y, column x. */
function val(i: number, ch: number, y: number, x: number): number {
  return (i * 50 + ch * 13 + y * 5 + x + 1) % 256;
}

function makeImages(n: number, c: number, h: number, w: number): Uint8Array {
  const out = new Uint8Array(n * c * h * w);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((i * c + ch) * h + y) * w + x] = val(i, ch, y, x);
  return out;
}

async function decode(
  path: string | Buffer,
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  // sharp expands greyscale to RGB on raw output unless asked to keep it single-band.
  const meta = await sharp(path).metadata();
  let s = sharp(path);
  if (meta.channels === 1) s = s.toColourspace("b-w");
  const { data, info } = await s.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

describe("writeGrid", () => {
  it("round-trips RGB pixels, padding colour, scale and size", async () => {
    const n = 3,
      c = 3,
      h = 2,
      w = 3;
    const cols = 2,
      pad = 1,
      scale = 2;
    const padValue = [10, 20, 30] as const;
    const path = join(dir, "sub", "grid.png");
    await writeGrid(path, makeImages(n, c, h, w), { n, c, h, w }, { cols, pad, padValue, scale });
    const img = await decode(path);
    const tileW = w * scale,
      tileH = h * scale;
    assert.equal(img.width, cols * tileW + (cols + 1) * pad);
    assert.equal(img.height, 2 * tileH + 3 * pad);
    assert.equal(img.channels, 3);
    const px = (x: number, y: number): number[] => {
      const o = (y * img.width + x) * 3;
      return [img.data[o]!, img.data[o + 1]!, img.data[o + 2]!];
    };
    for (let i = 0; i < n; i++) {
      const x0 = pad + (i % cols) * (tileW + pad);
      const y0 = pad + Math.floor(i / cols) * (tileH + pad);
      for (let y = 0; y < tileH; y++)
        for (let x = 0; x < tileW; x++) {
          const sy = Math.floor(y / scale),
            sx = Math.floor(x / scale);
          assert.deepEqual(
            px(x0 + x, y0 + y),
            [val(i, 0, sy, sx), val(i, 1, sy, sx), val(i, 2, sy, sx)],
            `image ${i} (${x},${y})`,
          );
        }
    }
    // Border, gap between tiles, and the empty 4th cell are padding.
    assert.deepEqual(px(0, 0), [...padValue]);
    assert.deepEqual(px(pad + tileW, pad), [...padValue]);
    assert.deepEqual(px(img.width - 1 - pad - 1, img.height - 1 - pad - 1), [...padValue]);
    // No temp files left behind.
    assert.deepEqual(await readdir(join(dir, "sub")), ["grid.png"]);
  });

  it("writes greyscale PNGs for c = 1 with default cols = ceil(sqrt(n))", async () => {
    const n = 5,
      c = 1,
      h = 4,
      w = 4;
    const buf = await encodePng(makeImages(n, c, h, w), { n, c, h, w }, { pad: 2, padValue: 0 });
    const img = await decode(buf);
    assert.equal(img.channels, 1);
    assert.equal(img.width, 3 * 4 + 4 * 2);
    assert.equal(img.height, 2 * 4 + 3 * 2);
    // Image 4 is at row 1, col 1; its pixel (y=3, x=2).
    const x = 2 + 1 * (4 + 2) + 2,
      y = 2 + 1 * (4 + 2) + 3;
    assert.equal(img.data[y * img.width + x], val(4, 0, 3, 2));
    assert.equal(img.data[0], 0);
  });

  it("makes a greyscale grid RGB when the padding colour is not grey", async () => {
    const buf = await encodePng(
      new Uint8Array(4).fill(7),
      { n: 1, c: 1, h: 2, w: 2 },
      { pad: 1, padValue: [255, 0, 0] },
    );
    const img = await decode(buf);
    assert.equal(img.channels, 3);
    assert.deepEqual([...img.data.subarray(0, 3)], [255, 0, 0]);
    const o = (1 * img.width + 1) * 3;
    assert.deepEqual([...img.data.subarray(o, o + 3)], [7, 7, 7]);
  });
});

describe("writeVideoGrid", () => {
  it("puts one video per row and one frame per column", async () => {
    const n = 2,
      t = 3,
      c = 3,
      h = 2,
      w = 2;
    // Treat the (n*t) frames as images: frame j of video i is "image" i*t + j.
    const frames = makeImages(n * t, c, h, w);
    const path = join(dir, "video.png");
    await writeVideoGrid(path, frames, { n, t, c, h, w }, { pad: 1 });
    const img = await decode(path);
    assert.equal(img.width, t * w + (t + 1));
    assert.equal(img.height, n * h + (n + 1));
    for (let i = 0; i < n; i++)
      for (let j = 0; j < t; j++) {
        const x = 1 + j * (w + 1) + 1,
          y = 1 + i * (h + 1) + 0;
        const o = (y * img.width + x) * 3;
        assert.deepEqual(
          [...img.data.subarray(o, o + 3)],
          [0, 1, 2].map((ch) => val(i * t + j, ch, 0, 1)),
        );
      }
    assert.equal((await encodeVideoGrid(frames, { n, t, c, h, w })).subarray(1, 4).toString(), "PNG");
  });
});

describe("writeGif", () => {
  it("has one animation frame per time step with all videos tiled, and holds the last frame", async () => {
    const n = 4,
      t = 5,
      c = 1,
      h = 3,
      w = 4;
    const frames = new Uint8Array(n * t * c * h * w);
    // Video i at time j is a flat grey level.
    for (let i = 0; i < n; i++)
      for (let j = 0; j < t; j++) frames.fill(i * 60 + j * 10, (i * t + j) * h * w, (i * t + j + 1) * h * w);
    const path = join(dir, "anim.gif");
    await writeGif(path, frames, { n, t, c, h, w }, { fps: 10, cols: 2, scale: 2, pad: 1, holdLastMs: 500 });
    const meta = await sharp(path).metadata();
    assert.equal(meta.format, "gif");
    assert.equal(meta.pages, t);
    assert.equal(meta.width, 2 * 8 + 3);
    assert.equal(meta.pageHeight ?? meta.height, 2 * 6 + 3);
    assert.deepEqual(meta.delay, [100, 100, 100, 100, 600]);
    assert.equal(meta.loop, 0);
    // Frame 2 of video 3 (row 1, col 1) is grey 3*60 + 2*10 = 200.
    const { data, info } = await sharp(path, { page: 2 }).raw().toBuffer({ resolveWithObject: true });
    const x = 1 + 1 * (8 + 1) + 3,
      y = 1 + 1 * (6 + 1) + 2;
    const v = data[(y * info.width + x) * info.channels]!;
    assert.ok(Math.abs(v - 200) <= 2, `expected ~200, got ${v}`);
  });

  it("encodes RGB input and loop counts", async () => {
    const n = 3,
      t = 2,
      c = 3,
      h = 4,
      w = 4;
    const buf = await encodeGif(makeImages(n * t, c, h, w), { n, t, c, h, w }, { fps: 4, loop: 2 });
    const meta = await sharp(buf).metadata();
    assert.equal(meta.pages, 2);
    assert.equal(meta.width, 2 * 4 + 3 * 2);
    assert.deepEqual(meta.delay, [250, 250]);
    assert.equal(meta.loop, 2);
  });

  it("rounds frame delays to GIF resolution with a 20 ms floor", () => {
    assert.equal(gifFrameDelayMs(8), 130); // 125 ms rounds to 130
    assert.equal(gifFrameDelayMs(10), 100);
    assert.equal(gifFrameDelayMs(30), 30);
    assert.equal(gifFrameDelayMs(100), 20);
  });
});

describe("validation", () => {
  const shape = { n: 2, c: 3, h: 3, w: 4 };
  const images = new Uint8Array(72);
  it("names the argument in error messages", async () => {
    await assert.rejects(encodePng(images, shape, { cols: -1 }), {
      message: "Expected positive integer for cols but received -1 (number)",
    });
    await assert.rejects(encodePng(images, shape, { scale: 1.5 }), {
      message: "Expected positive integer for scale but received 1.5 (number)",
    });
    await assert.rejects(encodePng(images, shape, { pad: -2 }), {
      message: "Expected non-negative integer for pad but received -2 (number)",
    });
    await assert.rejects(encodePng(images, shape, { padValue: 300 }), {
      message: "Expected integer in [0, 255] for padValue but received 300 (number)",
    });
    await assert.rejects(encodePng(images, { ...shape, c: 4 }), {
      message: "Expected 1 or 3 for c but received 4 (number)",
    });
    await assert.rejects(encodePng(images, { ...shape, n: "2" as unknown as number }), {
      message: 'Expected positive integer for n but received "2" (string)',
    });
    await assert.rejects(writeGrid("", images, shape), {
      message: 'Expected non-empty string for path but received "" (string)',
    });
    await assert.rejects(encodeGif(new Uint8Array(72), { n: 1, t: 2, c: 3, h: 3, w: 4 }, { fps: 0 }), {
      message: "Expected positive finite number for fps but received 0 (number)",
    });
  });

  it("reports expected vs received buffer lengths and types", async () => {
    await assert.rejects(encodePng(new Uint8Array(70), shape), {
      name: "ArgumentError",
      message: "Expected images to have length 72 (n*c*h*w = 2*3*3*4) but received length 70",
    });
    await assert.rejects(encodePng(new Float32Array(72) as unknown as Uint8Array, shape), {
      name: "ArgumentError",
      message: "Expected Uint8Array for images but received a Float32Array of length 72 (object)",
    });
    await assert.rejects(encodeGif(new Uint8Array(10), { n: 1, t: 2, c: 1, h: 2, w: 2 }), {
      message: "Expected frames to have length 8 (n*t*c*h*w = 1*2*1*2*2) but received length 10",
    });
  });
});
