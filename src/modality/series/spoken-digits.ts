// `spoken-digits`: an SC09-like set (the words "zero" … "nine", 1 s at 8 kHz, one channel) that needs no
// download: every clip is synthesised by espeak-ng (Debian package espeak-ng) over a grid of voices (accent ×
// voice variant), speeds and pitches. The train/test split is by voice: the variants in `testVariants` (a male
// and a female one by default) speak only test clips, so test clips come from voices never heard in training.
//
// Preparation, deterministic for one espeak-ng version: one espeak-ng call per (voice, speed, pitch) speaks the
// ten words separated by 800 ms breaks (SSML), the words are found as the ten sounds between silences of at
// least 300 ms (a call that yields another count fails, naming the voice), resampled from espeak-ng's 22,050 Hz to
// 8 kHz (windowed sinc, cut off at 3.6 kHz), trimmed to their sound, scaled to a peak of 0.9, centred in 8,000
// samples (a word longer than 1 s keeps its middle second) and quantised to 16 bits as a WAV file would be.
// The result is cached (<cache root>/data/spoken-digits-<hash of grid and espeak-ng version>.lfs), written
// atomically; the default grid (8 accents × 12 variants × 3 speeds × 3 pitches = 8,640 clips) is prepared once.
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { DataError } from "../../errors.js";
import { writeFileAtomicAsync } from "../../util/atomic.js";
import { defaultCacheDir } from "../../data/cache.js";
import { Progress } from "../../data/progress.js";
import { TaskPool } from "../../data/source.js";
import { readWav } from "./wav.js";

const run = promisify(execFile);

const DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"] as const;
const SPOKEN_DIGITS_RATE = 8000;
const CLIP = SPOKEN_DIGITS_RATE; // 1 s
const PEAK = 0.9;
const SILENCE = 0.002; // |x| below this is silence (espeak-ng's breaks are digital zeros)
const GAP_S = 0.3;

export interface SpokenDigitsGrid {
  /** espeak-ng English voices. */
  accents: readonly string[];
  /** espeak-ng voice variants (`<accent>+<variant>`). */
  variants: readonly string[];
  /** Words per minute. */
  speeds: readonly number[];
  /** espeak-ng pitch, 0 … 99. */
  pitches: readonly number[];
  /** Variants whose voices speak the test split only. */
  testVariants: readonly string[];
}

const spokenDigitsGrid: SpokenDigitsGrid = {
  accents: [
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
  ],
  variants: ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5"],
  speeds: [130, 175, 220],
  pitches: [25, 50, 75],
  testVariants: ["m6", "f5"],
};

/** Clips of one split: planar float32 (N, 1, 8000) in [-1, 1], with the digit and the voice of each. */
export interface AudioClips {
  data: Float32Array;
  n: number;
  c: 1;
  length: number;
  labels: Int32Array;
  /** Each clip's "<accent>+<variant> s<speed> p<pitch>". */
  speakers: string[];
}

export interface SpokenDigits {
  sampleRate: number;
  classes: readonly string[];
  train: AudioClips;
  test: AudioClips;
  info: { fromCache: boolean; cacheFile: string | null; espeak: string; ms: number };
}

export interface SpokenDigitsOptions {
  grid?: Partial<SpokenDigitsGrid>;
  /** espeak-ng calls at once (default: the number of cores). */
  concurrency?: number;
  /** false: neither read nor write the cache (default true). */
  cache?: boolean;
  cacheDir?: string;
  /** false: no progress output (default true: a bar on a TTY stderr, else a line every 10 s and at the end). */
  progress?: boolean;
  /** The espeak-ng program (default $LASTFRAME_ESPEAK or espeak-ng on the PATH). */
  espeak?: string;
  log?: (message: string) => void;
}

/**
 * Resamples x from rate `from` to rate `to` (integers) by a Hann-windowed sinc low-pass at `cutoff` Hz, 16 zero
 * crossings each side, zeros outside x. The rates' ratio is P/Q in lowest terms, so output sample m sits at
 * phase (m Q mod P)/P between input samples: the P kernels (one per phase, each normalised to unit gain) are
 * built once, and no sine is evaluated per tap.
 */
export function resample(
  x: Float32Array,
  from: number,
  to: number,
  cutoff = 0.45 * Math.min(from, to),
): Float32Array {
  const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
  const g = gcd(from, to);
  const [p, q] = [to / g, from / g];
  const fc = cutoff / from; // cycles per input sample
  const half = Math.ceil(16 / (2 * fc));
  const taps = 2 * half;
  // kernels[phase * taps + j] weighs input sample base − half + 1 + j, at distance (j − half + 1) − phase/P.
  const kernels = new Float64Array(p * taps);
  for (let ph = 0; ph < p; ph++) {
    let norm = 0;
    for (let j = 0; j < taps; j++) {
      const t = j - half + 1 - ph / p;
      const sinc = t === 0 ? 1 : Math.sin(2 * Math.PI * fc * t) / (2 * Math.PI * fc * t);
      const w = Math.abs(t) >= half ? 0 : sinc * (0.5 + 0.5 * Math.cos((Math.PI * t) / half));
      kernels[ph * taps + j] = w;
      norm += w;
    }
    for (let j = 0; j < taps; j++) kernels[ph * taps + j]! /= norm;
  }
  const out = new Float32Array(Math.floor((x.length * p) / q));
  for (let m = 0; m < out.length; m++) {
    const base = Math.floor((m * q) / p);
    const ph = (m * q) % p;
    const first = base - half + 1;
    let acc = 0;
    for (let j = Math.max(0, -first); j < taps && first + j < x.length; j++)
      acc += kernels[ph * taps + j]! * x[first + j]!;
    out[m] = acc;
  }
  return out;
}

/** [start, end) of each sound separated from the next by at least `gap` samples of silence. */
function sounds(x: Float32Array, gap: number): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  let lastLoud = -1;
  for (let i = 0; i < x.length; i++) {
    if (Math.abs(x[i]!) <= SILENCE) continue;
    if (start < 0) start = i;
    else if (i - lastLoud > gap) {
      out.push([start, lastLoud + 1]);
      start = i;
    }
    lastLoud = i;
  }
  if (start >= 0) out.push([start, lastLoud + 1]);
  return out;
}

/** One word, trimmed to its sound, as a 1 s clip: peak 0.9, centred, 16-bit values. */
function toClip(x: Float32Array, [start, end]: [number, number], dst: Float32Array): void {
  const keep = Math.min(end - start, CLIP);
  const from = start + Math.floor((end - start - keep) / 2);
  let peak = 0;
  for (let i = from; i < from + keep; i++) peak = Math.max(peak, Math.abs(x[i]!));
  const at = Math.floor((CLIP - keep) / 2);
  for (let i = 0; i < keep; i++)
    dst[at + i] = (Math.round(((x[from + i]! * PEAK) / peak) * 32768) || 0) / 32768; // no -0: the cache holds integers;
}

interface Job {
  voice: string;
  speed: number;
  pitch: number;
  test: boolean;
}

function jobsOf(g: SpokenDigitsGrid): Job[] {
  return g.accents.flatMap((a) =>
    g.variants.flatMap((v) =>
      g.speeds.flatMap((speed) =>
        g.pitches.map((pitch) => ({ voice: `${a}+${v}`, speed, pitch, test: g.testVariants.includes(v) })),
      ),
    ),
  );
}

async function espeakVersion(espeak: string): Promise<string> {
  try {
    return (await run(espeak, ["--version"])).stdout.trim();
  } catch (e) {
    throw new DataError(
      `spoken-digits needs espeak-ng (${espeak}: ${(e as Error).message.split("\n")[0]}); bash scripts/setup.sh installs it`,
      { cause: e },
    );
  }
}

/** Speaks the ten digits in one voice and cuts them into clips (10 × 8000 samples) written at `dst`. */
async function speak(espeak: string, job: Job, tmp: string, dst: Float32Array): Promise<void> {
  const file = path.join(tmp, `${job.voice}-${job.speed}-${job.pitch}.wav`);
  const text = `<speak>${DIGITS.join('<break time="800ms"/>')}</speak>`;
  const what = `espeak-ng -v ${job.voice} -s ${job.speed} -p ${job.pitch}`;
  try {
    await run(espeak, [
      "-m",
      "-v",
      job.voice,
      "-s",
      String(job.speed),
      "-p",
      String(job.pitch),
      "-w",
      file,
      text,
    ]);
  } catch (e) {
    throw new DataError(`${what} failed: ${(e as Error).message.split("\n")[0]}`, { cause: e });
  }
  const audio = readWav(file);
  fs.rmSync(file);
  const x = resample(audio.data.subarray(0, audio.length), audio.sampleRate, SPOKEN_DIGITS_RATE, 3600);
  const words = sounds(x, Math.round(GAP_S * SPOKEN_DIGITS_RATE));
  if (words.length !== DIGITS.length)
    throw new DataError(
      `${what}: found ${words.length} words separated by silence, expected ${DIGITS.length}`,
    );
  words.forEach((w, d) => toClip(x, w, dst.subarray(d * CLIP, (d + 1) * CLIP)));
}

const MAGIC = "LFSERIES";
const FORMAT = 1;

/** Cache file: magic, version, header length, JSON { key, espeak, splits: [{ n, speakers }] }, then per split int16 samples. */
async function writeClips(file: string, key: string, espeak: string, splits: AudioClips[]): Promise<void> {
  const header = Buffer.from(
    JSON.stringify({ key, espeak, splits: splits.map((s) => ({ n: s.n, speakers: s.speakers })) }),
  );
  const head = Buffer.alloc(16);
  head.write(MAGIC, 0, "latin1");
  head.writeUInt32LE(FORMAT, 8);
  head.writeUInt32LE(header.length, 12);
  const body = splits.flatMap((s) => {
    // Plain loops: TypedArray.from with a map function goes through the iterator, ~100× slower on 69M samples.
    const pcm = new Int16Array(s.data.length);
    for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(s.data[i]! * 32768);
    return [new Uint8Array(pcm.buffer), new Uint8Array(s.labels.buffer)];
  });
  await writeFileAtomicAsync(file, [head, header, ...body]);
}

function readClips(file: string, key: string): { espeak: string; splits: AudioClips[] } | string {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return "missing";
  }
  if (buf.length < 16 || buf.toString("latin1", 0, 8) !== MAGIC || buf.readUInt32LE(8) !== FORMAT)
    return "not this lastframe's cache format";
  const len = buf.readUInt32LE(12);
  let header: { key: string; espeak: string; splits: { n: number; speakers: string[] }[] };
  try {
    header = JSON.parse(buf.toString("utf8", 16, 16 + len)) as typeof header;
  } catch {
    return "a corrupt header";
  }
  if (header.key !== key) return "other settings";
  let at = 16 + len;
  const splits: AudioClips[] = [];
  for (const { n, speakers } of header.splits) {
    const samples = n * CLIP;
    if (at + samples * 2 + n * 4 > buf.length) return "a truncated file";
    const pcm = new Int16Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + samples * 2));
    at += samples * 2;
    const labels = new Int32Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + n * 4));
    at += n * 4;
    const data = new Float32Array(samples);
    for (let i = 0; i < samples; i++) data[i] = pcm[i]! / 32768;
    splits.push({ data, n, c: 1, length: CLIP, labels, speakers });
  }
  return { espeak: header.espeak, splits };
}

/** The spoken-digits set, prepared on first use and then read from the cache. */
export async function loadSpokenDigits(o: SpokenDigitsOptions = {}): Promise<SpokenDigits> {
  const t0 = performance.now();
  const grid = { ...spokenDigitsGrid, ...o.grid };
  const espeak = o.espeak ?? process.env.LASTFRAME_ESPEAK ?? "espeak-ng";
  const version = await espeakVersion(espeak);
  const key = JSON.stringify({ grid, version, rate: SPOKEN_DIGITS_RATE, format: FORMAT });
  const hash = crypto.createHash("sha256").update(key).digest("hex").slice(0, 16);
  const cacheFile =
    o.cache === false ? null : path.join(o.cacheDir ?? defaultCacheDir(), `spoken-digits-${hash}.lfs`);
  const result = (splits: AudioClips[], fromCache: boolean): SpokenDigits => ({
    sampleRate: SPOKEN_DIGITS_RATE,
    classes: DIGITS,
    train: splits[0]!,
    test: splits[1]!,
    info: { fromCache, cacheFile, espeak: version, ms: performance.now() - t0 },
  });
  if (cacheFile) {
    const hit = readClips(cacheFile, key);
    if (typeof hit !== "string") return result(hit.splits, true);
    if (hit !== "missing") (o.log ?? console.error)(`Rebuilding ${cacheFile}: it holds ${hit}`);
  }
  const jobs = jobsOf(grid);
  if (jobs.every((j) => j.test) || jobs.every((j) => !j.test))
    throw new DataError(
      `spoken-digits: the grid's testVariants (${grid.testVariants.join(", ")}) leave a split empty`,
    );
  const all = new Float32Array(jobs.length * DIGITS.length * CLIP);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lastframe-espeak-"));
  try {
    const pool = new TaskPool(o.concurrency ?? os.availableParallelism());
    const bar = new Progress({
      total: jobs.length,
      label: "preparing spoken-digits",
      unit: "voice",
      enabled: o.progress ?? true,
    });
    for (const [j, job] of jobs.entries()) {
      const dst = all.subarray(j * DIGITS.length * CLIP, (j + 1) * DIGITS.length * CLIP);
      if (!(await pool.run(() => speak(espeak, job, tmp, dst).then(() => bar.tick())))) break;
    }
    await pool.drain();
    bar.done();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const split = (test: boolean): AudioClips => {
    const picked = jobs.flatMap((job, j) => (job.test === test ? [j] : []));
    const data = new Float32Array(picked.length * DIGITS.length * CLIP);
    picked.forEach((j, k) =>
      data.set(
        all.subarray(j * DIGITS.length * CLIP, (j + 1) * DIGITS.length * CLIP),
        k * DIGITS.length * CLIP,
      ),
    );
    return {
      data,
      n: picked.length * DIGITS.length,
      c: 1,
      length: CLIP,
      labels: Int32Array.from({ length: picked.length * DIGITS.length }, (_, i) => i % DIGITS.length),
      speakers: picked.flatMap((j) => {
        const { voice, speed, pitch } = jobs[j]!;
        return DIGITS.map(() => `${voice} s${speed} p${pitch}`);
      }),
    };
  };
  const splits = [split(false), split(true)];
  if (cacheFile) await writeClips(cacheFile, key, version, splits);
  return result(splits, false);
}
