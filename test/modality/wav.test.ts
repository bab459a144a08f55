// WAV reader and writer against an independent implementation: Python's wave module (PCM) and scipy.io.wavfile
// (32-bit float, comes with python3-statsmodels) write files whose integer codes we know, lastframe must read
// exactly those values; lastframe's files must read back in Python as the same codes; and bad files fail
// naming the file.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { DataError } from "../../src/errors.js";
import { encodeWav, parseWav, readWav, writeWav } from "../../src/modality/series/wav.js";

const python = process.env.LASTFRAME_TORCH_PYTHON ?? "/usr/bin/python3";
const dir = mkdtempSync(path.join(tmpdir(), "lastframe-wav-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function py(code: string): string {
  const r = spawnSync(python, ["-c", code], { encoding: "utf8" });
  if (r.status !== 0)
    throw new Error(`${python} failed (needs python3-scipy): ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

// Integer codes per channel (interleaving is the writer's job), covering both ends of each range.
const LENGTH = 50;
const codes16 = (ch: number) =>
  Array.from({ length: LENGTH }, (_, t) =>
    t === 0 ? -32768 : t === 1 ? 32767 : ((t * 977 + ch * 331) % 65536) - 32768,
  );
const codes8 = (ch: number) =>
  Array.from({ length: LENGTH }, (_, t) => (t === 0 ? 0 : t === 1 ? 255 : (t * 37 + ch * 101) % 256));

/** Python's wave module writes PCM with the given per-channel codes. */
function pythonPcm(file: string, bits: 8 | 16, channels: number, rate: number): void {
  const per = Array.from({ length: channels }, (_, ch) => (bits === 8 ? codes8(ch) : codes16(ch)));
  const frames = Array.from({ length: LENGTH }, (_, t) => per.map((c) => c[t]!)).flat();
  py(
    `import wave, struct\n` +
      `w = wave.open(${JSON.stringify(file)}, "wb"); w.setnchannels(${channels}); w.setsampwidth(${bits / 8}); w.setframerate(${rate})\n` +
      `w.writeframes(struct.pack("<${frames.length}${bits === 8 ? "B" : "h"}", *${JSON.stringify(frames)})); w.close()\n`,
  );
}

for (const bits of [8, 16] as const)
  for (const channels of [1, 2]) {
    test(`reads ${bits}-bit PCM, ${channels} channel(s), written by Python's wave module`, () => {
      const file = path.join(dir, `py-${bits}-${channels}.wav`);
      pythonPcm(file, bits, channels, 8000);
      const a = readWav(file);
      assert.equal(a.encoding, `pcm${bits}`);
      assert.deepEqual([a.sampleRate, a.channels, a.length], [8000, channels, LENGTH]);
      for (let ch = 0; ch < channels; ch++) {
        const want = bits === 8 ? codes8(ch).map((v) => (v - 128) / 128) : codes16(ch).map((v) => v / 32768);
        assert.deepEqual(Array.from(a.data.subarray(ch * LENGTH, (ch + 1) * LENGTH)), want, `channel ${ch}`);
      }
      // Written back at the same depth, the file is byte for byte what Python wrote.
      assert.deepEqual(encodeWav(a, a.encoding), readFileSync(file));
    });
  }

test("Python reads lastframe's PCM files as the same codes, rounded and clipped", () => {
  const data = Float32Array.from([0, 0.5, -0.5, 1, -1, 2, -2, 0.25 / 32768, 0.75 / 32768, 0.1]);
  const stereo = { sampleRate: 16000, channels: 2, length: 5, data };
  for (const [encoding, scale, offset] of [
    ["pcm16", 32768, 0],
    ["pcm8", 128, 128],
  ] as const) {
    const file = path.join(dir, `ours-${encoding}.wav`);
    writeWav(file, stereo, encoding);
    const out = JSON.parse(
      py(
        `import wave, struct, json\nw = wave.open(${JSON.stringify(file)})\n` +
          `n = w.getnframes(); b = w.readframes(n)\n` +
          `print(json.dumps([w.getnchannels(), w.getsampwidth(), w.getframerate(), list(struct.unpack("<%d${encoding === "pcm8" ? "B" : "h"}" % (n * w.getnchannels()), b))]))`,
      ),
    ) as [number, number, number, number[]];
    const interleaved = Array.from({ length: 10 }, (_, i) => data[(i % 2) * 5 + Math.floor(i / 2)]!);
    const want = interleaved.map(
      (v) => Math.max(-scale, Math.min(scale - 1, Math.round(v * scale))) + offset,
    );
    assert.deepEqual(out, [2, scale === 128 ? 1 : 2, 16000, want], encoding);
  }
});

test("32-bit float: scipy's files read exactly, and scipy reads ours exactly", () => {
  const theirs = path.join(dir, "scipy-f32.wav");
  const values = [0, 0.5, -0.25, 1.5, -3, 1e-7, 0.3333333432674408, -1];
  py(
    `import numpy as np\nfrom scipy.io import wavfile\n` +
      `x = np.array(${JSON.stringify(values)}, dtype=np.float32).reshape(4, 2)\n` +
      `wavfile.write(${JSON.stringify(theirs)}, 22050, x)\n`,
  );
  const a = readWav(theirs);
  assert.equal(a.encoding, "float32");
  assert.deepEqual([a.sampleRate, a.channels, a.length], [22050, 2, 4]);
  const planar = [0, 2, 4, 6, 1, 3, 5, 7].map((i) => Math.fround(values[i]!));
  assert.deepEqual(Array.from(a.data), planar);

  const ours = path.join(dir, "ours-f32.wav");
  writeWav(ours, { sampleRate: 8000, channels: 1, length: 8, data: Float32Array.from(values) }, "float32");
  const back = JSON.parse(
    py(
      `from scipy.io import wavfile\nimport json\nr, x = wavfile.read(${JSON.stringify(ours)})\n` +
        `print(json.dumps([r, str(x.dtype), list(x.shape), x.astype(float).tolist()]))`,
    ),
  );
  assert.deepEqual(back, [8000, "float32", [8], values.map((v) => Math.fround(v))]);
});

test("skips unknown chunks (LIST, odd-sized with a pad byte) before the data", () => {
  const plain = encodeWav({
    sampleRate: 8000,
    channels: 1,
    length: 3,
    data: Float32Array.from([0.5, 0, -0.5]),
  });
  const list = Buffer.concat([Buffer.from("LIST"), Buffer.from([3, 0, 0, 0]), Buffer.from("abc\0")]);
  const bytes = Buffer.concat([plain.subarray(0, 36), list, plain.subarray(36)]);
  bytes.writeUInt32LE(bytes.length - 8, 4);
  assert.deepEqual(Array.from(parseWav(bytes, "x.wav").data), [0.5, 0, -0.5]);
});

test("bad files fail with a DataError naming the file", () => {
  const good = encodeWav({ sampleRate: 8000, channels: 2, length: 4, data: new Float32Array(8) });
  const cases: [string, Buffer, RegExp][] = [
    ["text.wav", Buffer.from("hello, not a wave file"), /no RIFF\/WAVE header/],
    ["short.wav", good.subarray(0, good.length - 3), /data chunk says 16 bytes but only 13 follow/],
    ["nodata.wav", good.subarray(0, 36), /no data chunk/],
    ["alaw.wav", Buffer.from(good).fill(6, 20, 21), /format 6 with 16 bits per sample is not supported/],
    ["align.wav", Buffer.from(good).fill(3, 32, 33), /block align 3 does not match 2 channels of 16 bits/],
  ];
  for (const [name, bytes, why] of cases) {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    assert.throws(
      () => readWav(file),
      (e: unknown) => e instanceof DataError && e.message.startsWith(`${file}: `) && why.test(e.message),
      name,
    );
  }
  assert.throws(() => readWav(path.join(dir, "missing.wav")), /Cannot read .*missing\.wav/);
  assert.throws(
    () => encodeWav({ sampleRate: 8000, channels: 1, length: 1, data: Float32Array.from([NaN]) }),
    /a sample is NaN, which pcm16 cannot hold/,
  );
});
