// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a JSON header
// mapping each name to {dtype, shape, data_offsets} (plus optional "__metadata__" of strings), then the raw
// little-endian tensor bytes. Python users open our weights with `safetensors.torch.load_file`, and we load
// theirs. Writes are atomic: a temp file renamed into place, so a crash never leaves half a file.
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../util/atomic.js";
import { type DType, Tensor, CheckpointError, dispose, fromTyped } from "../tensor/index.js";
import type { Module } from "./module.js";
import { arrayTypeOf } from "../tensor/dtype.js";

const TO_ST: Record<DType, string> = {
  float32: "F32",
  float64: "F64",
  float16: "F16",
  bfloat16: "BF16",
  int64: "I64",
  int32: "I32",
  int16: "I16",
  int8: "I8",
  uint8: "U8",
  bool: "BOOL",
};
const FROM_ST = new Map(Object.entries(TO_ST).map(([k, v]) => [v, k as DType]));

export type Metadata = Record<string, string>;

/** Serialises tensors (in name order, as the reference writer does) into one buffer. */
export function encodeSafetensors(tensors: Map<string, Tensor>, metadata?: Metadata): Buffer {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const data = t.data();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = { dtype: TO_ST[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // data starts 8-byte aligned
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json), ...chunks]);
}

export function saveSafetensors(path: string, tensors: Map<string, Tensor>, metadata?: Metadata): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export interface Loaded {
  tensors: Map<string, Tensor>;
  metadata: Metadata;
}

/** Parses a safetensors buffer; every structural problem is a CheckpointError naming `source`. */
export function decodeSafetensors(buf: Buffer, source = "safetensors data"): Loaded {
  const fail = (why: string) => new CheckpointError(`${source} is not a valid safetensors file: ${why}`);
  if (buf.length < 8) throw fail(`it has ${buf.length} bytes, fewer than the 8-byte header length`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen > buf.length - 8)
    throw fail(`header length ${headerLen} exceeds the file size ${buf.length} (truncated?)`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Metadata>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString("utf8"));
  } catch {
    throw fail("the header is not valid JSON");
  }
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Metadata;
  const entries = Object.entries(header).filter(([k]) => k !== "__metadata__") as [
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] },
  ][];
  // Offsets must tile the data area exactly, in order, with no gaps or overlaps.
  const sorted = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  let expectedStart = 0;
  for (const [name, e] of sorted) {
    if (!Array.isArray(e.data_offsets) || e.data_offsets[0] !== expectedStart)
      throw fail(`tensor ${name} does not start where the previous one ends`);
    expectedStart = e.data_offsets[1];
  }
  if (expectedStart !== dataLen)
    throw fail(`the tensors cover ${expectedStart} bytes but the data area has ${dataLen} (truncated?)`);
  const tensors = new Map<string, Tensor>();
  for (const [name, e] of entries) {
    const dtype = FROM_ST.get(e.dtype);
    if (!dtype) throw fail(`tensor ${name} has unsupported dtype ${e.dtype}`);
    const [begin, end] = e.data_offsets;
    const Ctor = arrayTypeOf(dtype);
    const numel = e.shape.reduce((a, b) => a * b, 1);
    if (end - begin !== numel * Ctor.BYTES_PER_ELEMENT)
      throw fail(
        `tensor ${name} has ${end - begin} bytes but shape [${e.shape}] of ${e.dtype} needs ${numel * Ctor.BYTES_PER_ELEMENT}`,
      );
    // Copy into an aligned buffer: typed arrays need element alignment, the file gives none per tensor.
    const bytes = new Uint8Array(end - begin);
    bytes.set(buf.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, fromTyped(new Ctor(bytes.buffer), e.shape, { dtype }));
  }
  return { tensors, metadata };
}

/** A checkpoint file's bytes; an unreadable file is a CheckpointError naming it and why (ENOENT, EACCES, …). */
export function readCheckpointFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CheckpointError(
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

export function loadSafetensors(path: string): Loaded {
  return decodeSafetensors(readCheckpointFile(path), path);
}

/** Saves a module's state dict, and its config as JSON beside it (`model.safetensors` + `model.json`). */
export function saveModule(path: string, module: Module, config?: unknown): void {
  saveSafetensors(path, module.stateDict(), { format: "pt" });
  if (config !== undefined)
    writeFileAtomic(path.replace(/\.safetensors$/, "") + ".json", JSON.stringify(config, null, 2) + "\n");
}

/** Loads weights saved by saveModule (or by Python's safetensors) into a module of matching architecture. */
export function loadModule(path: string, module: Module, opts: { strict?: boolean } = {}): Metadata {
  const { tensors, metadata } = loadSafetensors(path);
  try {
    module.loadStateDict(tensors, { strict: opts.strict, source: path });
  } finally {
    dispose(tensors);
  }
  return metadata;
}
