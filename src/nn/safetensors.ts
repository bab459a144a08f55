// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a JSON header
// mapping each name to {dtype, shape, data_offsets} (plus optional "__metadata__" of strings), then the raw
// little-endian tensor bytes. Python users open our weights with `safetensors.torch.load_file`, and we load
// theirs. Writes are atomic: a temp file renamed into place, so a crash never leaves half a file.
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../util/atomic.js";
import { type DType, Tensor, CheckpointError, dispose, fromTyped } from "../tensor/index.js";
import { describeData } from "../errors.js";
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

interface Entry {
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Checks the parsed header field by field, before anything is allocated. */
function readHeader(header: unknown, fail: (why: string) => CheckpointError) {
  const expected = (what: string, name: string, v: unknown) =>
    fail(`expected ${what} for ${name} but received ${describeData(v)}`);
  if (header === null || typeof header !== "object" || Array.isArray(header))
    throw expected("a JSON object", "the header", header);
  const metadata: Metadata = {};
  const entries: [string, Entry][] = [];
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (e === null || typeof e !== "object" || Array.isArray(e))
        throw expected("an object of strings", "__metadata__", e);
      for (const [k, v] of Object.entries(e)) {
        if (typeof v !== "string") throw expected("a string", `__metadata__.${k}`, v);
        metadata[k] = v;
      }
      continue;
    }
    if (e === null || typeof e !== "object" || Array.isArray(e))
      throw expected("an object with dtype, shape and data_offsets", `tensor ${name}`, e);
    const { dtype, shape, data_offsets: offsets } = e as Record<string, unknown>;
    const known = typeof dtype === "string" ? FROM_ST.get(dtype) : undefined;
    if (!known) throw fail(`tensor ${name} has unsupported dtype ${describeData(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isCount))
      throw expected("an array of non-negative integers", `shape of tensor ${name}`, shape);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[1] < offsets[0])
      throw expected("[begin, end] with 0 <= begin <= end", `data_offsets of tensor ${name}`, offsets);
    entries.push([name, { dtype: known, shape, begin: offsets[0], end: offsets[1] }]);
  }
  return { metadata, entries };
}

/** Parses a safetensors buffer; every structural problem is a CheckpointError naming `source`. */
export function decodeSafetensors(buf: Buffer, source = "safetensors data"): Loaded {
  const fail = (why: string) => new CheckpointError(`${source} is not a valid safetensors file: ${why}`);
  if (buf.length < 8) throw fail(`it has ${buf.length} bytes, fewer than the 8-byte header length`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen > buf.length - 8)
    throw fail(`header length ${headerLen} exceeds the file size ${buf.length} (truncated?)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.subarray(8, 8 + headerLen).toString("utf8"));
  } catch {
    throw fail("the header is not valid JSON");
  }
  const { metadata, entries } = readHeader(parsed, fail);
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  // Offsets must tile the data area exactly, in order, with no gaps or overlaps.
  const sorted = [...entries].sort((a, b) => a[1].begin - b[1].begin);
  let expectedStart = 0;
  for (const [name, e] of sorted) {
    if (e.begin !== expectedStart) throw fail(`tensor ${name} does not start where the previous one ends`);
    expectedStart = e.end;
  }
  if (expectedStart !== dataLen)
    throw fail(`the tensors cover ${expectedStart} bytes but the data area has ${dataLen} (truncated?)`);
  for (const [name, e] of entries) {
    const need = e.shape.reduce((a, b) => a * b, 1) * arrayTypeOf(e.dtype).BYTES_PER_ELEMENT;
    if (e.end - e.begin !== need)
      throw fail(
        `tensor ${name} has ${e.end - e.begin} bytes but shape [${e.shape}] of ${TO_ST[e.dtype]} needs ${need}`,
      );
  }
  const tensors = new Map<string, Tensor>();
  try {
    for (const [name, e] of entries) {
      // Copy into an aligned buffer: typed arrays need element alignment, the file gives none per tensor.
      const bytes = new Uint8Array(buf.subarray(dataStart + e.begin, dataStart + e.end));
      tensors.set(name, fromTyped(new (arrayTypeOf(e.dtype))(bytes.buffer), e.shape, { dtype: e.dtype }));
    }
  } catch (err) {
    dispose(tensors);
    throw err;
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
