// WAV files in and out: RIFF/WAVE with PCM samples of 8 (unsigned), 16, 24 or 32 bits, or IEEE float of 32 or
// 64 bits (format 1, 3, or WAVE_FORMAT_EXTENSIBLE carrying either), any number of channels. Samples are held
// planar as float32 in [-1, 1]: channel ch, sample t is data[ch * length + t], the (C, L) layout of a tensor.
// Integer codes map as v / 2^(bits-1) (8-bit after removing its 128 offset), so a file written back at the same
// depth gives the same bytes. Anything else (another codec, a truncated data chunk, a header that contradicts
// itself) is a DataError naming the file.
import fs from "node:fs";
import { DataError } from "../../errors.js";
import { writeFileAtomic } from "../../util/atomic.js";

/** A multi-channel signal: planar float32 samples (C, L) at a sample rate. */
export interface Audio {
  sampleRate: number;
  channels: number;
  /** Samples per channel. */
  length: number;
  data: Float32Array;
}

export type WavEncoding = "pcm8" | "pcm16" | "pcm24" | "pcm32" | "float32" | "float64";

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

function encodingOf(format: number, bits: number): WavEncoding | null {
  if (format === FORMAT_PCM && [8, 16, 24, 32].includes(bits)) return `pcm${bits}` as WavEncoding;
  if (format === FORMAT_FLOAT && (bits === 32 || bits === 64)) return `float${bits}` as WavEncoding;
  return null;
}

const bitsOf = (e: WavEncoding): number => Number(e.replace(/\D+/, ""));

/** Decodes the bytes of a WAV file; `name` (the file) is named in every error. */
export function parseWav(bytes: Uint8Array, name: string): Audio & { encoding: WavEncoding } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string) => new DataError(`${name}: not a readable WAV file: ${why}`);
  if (buf.length < 12 || buf.toString("latin1", 0, 4) !== "RIFF" || buf.toString("latin1", 8, 12) !== "WAVE")
    throw bad("no RIFF/WAVE header");
  let fmt: { format: number; channels: number; rate: number; align: number; bits: number } | null = null;
  let at = 12;
  while (at + 8 <= buf.length) {
    const id = buf.toString("latin1", at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === "fmt ") {
      if (size < 16 || body + size > buf.length) throw bad(`its fmt chunk has ${size} bytes`);
      let format = buf.readUInt16LE(body);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
      if (format === FORMAT_EXTENSIBLE) {
        if (size < 40) throw bad("its extensible fmt chunk is shorter than 40 bytes");
        format = buf.readUInt16LE(body + 24);
      }
      fmt = {
        format,
        channels: buf.readUInt16LE(body + 2),
        rate: buf.readUInt32LE(body + 4),
        align: buf.readUInt16LE(body + 12),
        bits: buf.readUInt16LE(body + 14),
      };
    } else if (id === "data") {
      if (!fmt) throw bad("its data chunk comes before the fmt chunk");
      const encoding = encodingOf(fmt.format, fmt.bits);
      if (!encoding) throw bad(`format ${fmt.format} with ${fmt.bits} bits per sample is not supported`);
      if (fmt.channels < 1 || fmt.rate < 1) throw bad(`${fmt.channels} channels at ${fmt.rate} Hz`);
      if (fmt.align !== (fmt.channels * fmt.bits) / 8)
        throw bad(`block align ${fmt.align} does not match ${fmt.channels} channels of ${fmt.bits} bits`);
      if (body + size > buf.length)
        throw bad(`its data chunk says ${size} bytes but only ${buf.length - body} follow (truncated?)`);
      if (size % fmt.align !== 0) throw bad(`its data chunk of ${size} bytes is not whole frames`);
      return {
        ...decode(buf, body, size / fmt.align, fmt.channels, encoding),
        sampleRate: fmt.rate,
        encoding,
      };
    }
    at = body + size + (size & 1); // chunks are padded to even sizes
  }
  throw bad(fmt ? "it has no data chunk" : "it has no fmt chunk");
}

function decode(buf: Buffer, start: number, length: number, channels: number, e: WavEncoding) {
  const data = new Float32Array(channels * length);
  const bytes = bitsOf(e) / 8;
  const read: (off: number) => number = {
    pcm8: (o: number) => (buf[o]! - 128) / 128,
    pcm16: (o: number) => buf.readInt16LE(o) / 32768,
    pcm24: (o: number) => buf.readIntLE(o, 3) / 8388608,
    pcm32: (o: number) => buf.readInt32LE(o) / 2147483648,
    float32: (o: number) => buf.readFloatLE(o),
    float64: (o: number) => buf.readDoubleLE(o),
  }[e];
  for (let t = 0; t < length; t++)
    for (let ch = 0; ch < channels; ch++) data[ch * length + t] = read(start + (t * channels + ch) * bytes);
  return { channels, length, data };
}

/** Reads a WAV file; a missing or bad file is a DataError naming it. */
export function readWav(file: string): Audio & { encoding: WavEncoding } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new DataError(`Cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  return parseWav(bytes, file);
}

/** The bytes of a WAV file holding `audio`; integer encodings round and clip to their range. */
export function encodeWav(audio: Audio, encoding: WavEncoding = "pcm16"): Buffer {
  const { channels, length, data, sampleRate } = audio;
  if (data.length !== channels * length)
    throw new DataError(`encodeWav: ${data.length} samples for ${channels} channels of ${length}`);
  const bits = bitsOf(encoding);
  const align = (channels * bits) / 8;
  const size = align * length;
  const out = Buffer.alloc(44 + size + (size & 1));
  out.write("RIFF", 0, "latin1");
  out.writeUInt32LE(out.length - 8, 4);
  out.write("WAVEfmt ", 8, "latin1");
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(encoding.startsWith("float") ? FORMAT_FLOAT : FORMAT_PCM, 20);
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * align, 28);
  out.writeUInt16LE(align, 32);
  out.writeUInt16LE(bits, 34);
  out.write("data", 36, "latin1");
  out.writeUInt32LE(size, 40);
  const int = (v: number, scale: number) => {
    if (!Number.isFinite(v))
      throw new DataError(`encodeWav: a sample is ${v}, which ${encoding} cannot hold`);
    return Math.max(-scale, Math.min(scale - 1, Math.round(v * scale)));
  };
  const write: (v: number, off: number) => void = {
    pcm8: (v: number, o: number) => void out.writeUInt8(int(v, 128) + 128, o),
    pcm16: (v: number, o: number) => void out.writeInt16LE(int(v, 32768), o),
    pcm24: (v: number, o: number) => void out.writeIntLE(int(v, 8388608), o, 3),
    pcm32: (v: number, o: number) => void out.writeInt32LE(int(v, 2147483648), o),
    float32: (v: number, o: number) => void out.writeFloatLE(v, o),
    float64: (v: number, o: number) => void out.writeDoubleLE(v, o),
  }[encoding];
  for (let t = 0; t < length; t++)
    for (let ch = 0; ch < channels; ch++)
      write(data[ch * length + t]!, 44 + (t * channels + ch) * (bits / 8));
  return out;
}

/** Writes `audio` to `file` atomically. */
export function writeWav(file: string, audio: Audio, encoding: WavEncoding = "pcm16"): void {
  writeFileAtomic(file, encodeWav(audio, encoding));
}
