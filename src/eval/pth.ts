// Reads PyTorch state dicts saved with torch.save (`.pth`), without Python and without running pickled code:
//   - the zip format (torch ≥ 1.6): <archive>/data.pkl plus one entry <archive>/data/<key> per storage;
//   - the legacy format (older files, such as pytorch-fid's Inception weights): five pickles in a row (magic
//     number, protocol version, system info, the object, the storage keys), then each storage as an 8-byte
//     element count and its raw bytes, in the order of those keys.
// Tensors are rebuilt from (storage, offset, size, stride); only the globals a state dict needs are allowed.
import { type DType, type Tensor, CheckpointError, dispose, fromTyped } from "../tensor/index.js";
import { arrayTypeOf, byteSize } from "../tensor/dtype.js";
import { type PickleGlobal, PickleRef, unpickle } from "./pickle.js";
import { isZip, readZipDirectory, zipEntryData } from "./zip.js";
import { readCheckpointFile } from "../nn/index.js";

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: "float32",
  DoubleStorage: "float64",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool",
};

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
  ) {}
}

class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

const storageGlobals = Object.fromEntries(
  Object.keys(STORAGE_DTYPES).map((name) => [`torch.${name}`, {}]),
) as Record<string, PickleGlobal>;

const STATE_DICT_GLOBALS: Record<string, PickleGlobal> = {
  ...storageGlobals,
  // A state dict is an OrderedDict whose `_metadata` attribute (module versions) arrives by BUILD: not needed.
  "collections.OrderedDict": { call: () => new Map(), build: () => {} },
  "torch._utils._rebuild_tensor_v2": {
    call: ([storage, offset, size, stride]) => {
      if (!(storage instanceof StorageRef)) throw new Error("tensor without a storage");
      return new TensorRef(storage, offset as number, size as number[], stride as number[]);
    },
  },
  // nn.Parameter objects (a model's parameters saved directly) hold their tensor as the first argument.
  "torch._utils._rebuild_parameter": { call: ([data]) => data },
};

function persistentLoad(source: string) {
  return (pid: unknown): StorageRef => {
    // ('storage', torch.FloatStorage, key, location, numel[, view_metadata])
    if (!Array.isArray(pid) || pid[0] !== "storage" || !(pid[1] instanceof PickleRef))
      throw new CheckpointError(`${source}: unsupported persistent id in the pickle (not a tensor storage)`);
    const dtype = STORAGE_DTYPES[pid[1].qualname.replace(/^torch\./, "")]!;
    if (pid[5] !== undefined && pid[5] !== null)
      throw new CheckpointError(
        `${source}: storage views (files saved by PyTorch before 0.4) are not supported`,
      );
    return new StorageRef(String(pid[2]), dtype, Number(pid[4]));
  };
}

/** Every TensorRef in a (nested) state dict, by dotted name. */
function collectTensors(value: unknown, prefix: string, out: Map<string, TensorRef>, source: string): void {
  if (value instanceof TensorRef) out.set(prefix, value);
  else if (value instanceof Map) {
    for (const [k, v] of value) collectTensors(v, prefix ? `${prefix}.${String(k)}` : String(k), out, source);
  } else if (prefix === "")
    throw new CheckpointError(
      `${source}: expected a state dict (a dict of tensors) but the file holds something else`,
    );
}

/** The elements a strided view selects from its storage, row-major. */
function materialise(ref: TensorRef, data: Uint8Array, name: string, source: string): Tensor {
  const { storage, offset, size, stride } = ref;
  const numel = size.reduce((a, b) => a * b, 1);
  const Ctor = arrayTypeOf(storage.dtype);
  const el = byteSize(storage.dtype);
  if (data.length < storage.numel * el)
    throw new CheckpointError(
      `${source}: storage of ${name} has ${data.length} bytes, fewer than its ${storage.numel} elements need`,
    );
  // Copy into an aligned buffer: typed arrays need element alignment, the file guarantees none.
  const all = new Ctor(new Uint8Array(data.subarray(0, storage.numel * el)).buffer);
  let contiguous = true;
  let last = offset;
  for (let d = size.length - 1, expect = 1; d >= 0; expect *= size[d]!, d--) {
    if (size[d]! > 1 && stride[d] !== expect) contiguous = false;
    last += (size[d]! - 1) * stride[d]!;
  }
  if (numel > 0 && (offset < 0 || last >= storage.numel))
    throw new CheckpointError(`${source}: ${name} reaches past the end of its storage`);
  let values: typeof all;
  if (contiguous) values = all.subarray(offset, offset + numel) as typeof all;
  else {
    // Rare in state dicts (a transposed view saved as is): gather element by element, once, at load time.
    values = new Ctor(numel) as typeof all;
    const index = new Array<number>(size.length).fill(0);
    for (let i = 0; i < numel; i++) {
      let p = offset;
      for (let d = 0; d < size.length; d++) p += index[d]! * stride[d]!;
      (values as Float32Array)[i] = (all as Float32Array)[p]!;
      for (let d = size.length - 1; d >= 0 && ++index[d]! === size[d]; d--) index[d] = 0;
    }
  }
  return fromTyped(values, size, { dtype: storage.dtype });
}

function readZipCheckpoint(
  buf: Buffer,
  source: string,
): { root: unknown; storage: (key: string) => Uint8Array } {
  const entries = readZipDirectory(buf, source);
  const pkl = [...entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pkl)
    throw new CheckpointError(`${source}: a zip archive without <name>/data.pkl is not a PyTorch checkpoint`);
  const prefix = pkl.slice(0, -"data.pkl".length);
  const { value } = unpickle(zipEntryData(buf, entries.get(pkl)!, source), {
    globals: STATE_DICT_GLOBALS,
    persistentLoad: persistentLoad(source),
    source: `${source} (${pkl})`,
  });
  return {
    root: value,
    storage: (key) => {
      const e = entries.get(`${prefix}data/${key}`);
      if (!e) throw new CheckpointError(`${source}: storage ${key} is missing from the archive`);
      return zipEntryData(buf, e, source);
    },
  };
}

function readLegacyCheckpoint(
  buf: Buffer,
  source: string,
): { root: unknown; storage: (key: string) => Uint8Array } {
  const plain = (start: number) => unpickle(buf, { globals: {}, source }, start);
  // PROTO 2, then LONG1 with the 10-byte magic number.
  const magic = buf[0] === 0x80 && buf[2] === 0x8a ? plain(0) : null;
  if (magic?.value !== LEGACY_MAGIC)
    throw new CheckpointError(
      `${source} is not a PyTorch checkpoint (neither a zip archive nor the legacy format's magic number)`,
    );
  const protocol = plain(magic!.end);
  if (protocol.value !== LEGACY_PROTOCOL)
    throw new CheckpointError(`${source}: unsupported legacy protocol version ${String(protocol.value)}`);
  const sysInfo = plain(protocol.end);
  if (sysInfo.value instanceof Map && sysInfo.value.get("little_endian") === false)
    throw new CheckpointError(
      `${source} was saved on a big-endian machine; re-save it on a little-endian one`,
    );
  const main = unpickle(
    buf,
    { globals: STATE_DICT_GLOBALS, persistentLoad: persistentLoad(source), source },
    sysInfo.end,
  );
  const keys = plain(main.end);
  if (!Array.isArray(keys.value))
    throw new CheckpointError(`${source}: the legacy storage key list is missing`);
  // Storages follow in key order, each as an int64 element count then the elements.
  const refs = new Map<string, StorageRef>();
  const seen = (v: unknown): void => {
    if (v instanceof TensorRef) refs.set(v.storage.key, v.storage);
    else if (v instanceof Map) for (const x of v.values()) seen(x);
  };
  seen(main.value);
  const spans = new Map<string, Uint8Array>();
  let at = keys.end;
  for (const key of keys.value as string[]) {
    if (at + 8 > buf.length) throw new CheckpointError(`${source} is truncated: storage ${key} is missing`);
    const count = Number(buf.readBigInt64LE(at));
    const el = refs.has(key) ? byteSize(refs.get(key)!.dtype) : 1;
    const end = at + 8 + count * el;
    if (end > buf.length) throw new CheckpointError(`${source} is truncated inside storage ${key}`);
    spans.set(key, buf.subarray(at + 8, end));
    at = end;
  }
  return {
    root: main.value,
    storage: (key) => {
      const s = spans.get(key);
      if (!s) throw new CheckpointError(`${source}: storage ${key} is missing`);
      return s;
    },
  };
}

/** Reads a state dict (tensor name → tensor) from the bytes of a .pth file. */
export function decodeStateDict(buf: Buffer, source: string): Map<string, Tensor> {
  const { root, storage } = isZip(buf) ? readZipCheckpoint(buf, source) : readLegacyCheckpoint(buf, source);
  const refs = new Map<string, TensorRef>();
  collectTensors(root, "", refs, source);
  const out = new Map<string, Tensor>();
  try {
    for (const [name, ref] of refs) out.set(name, materialise(ref, storage(ref.storage.key), name, source));
  } catch (err) {
    dispose(out);
    throw err;
  }
  return out;
}

/** Reads a state dict from a .pth file (see decodeStateDict). */
export function loadStateDict(path: string): Map<string, Tensor> {
  return decodeStateDict(readCheckpointFile(path), path);
}
