// Reads PyTorch state dicts saved with torch.save (`.pth`), without Python and without running pickled code:
//   - the zip format (torch ≥ 1.6): <archive>/data.pkl plus one entry <archive>/data/<key> per storage;
//   - the legacy format (older files, such as pytorch-fid's Inception weights): five pickles in a row (magic
//     number, protocol version, system info, the object, the storage keys), then each storage as an 8-byte
//     element count and its raw bytes, in the order of those keys.
// Tensors are rebuilt from (storage, offset, size, stride); only the globals a state dict needs are allowed.
import { type DType, type Tensor, CheckpointError, dispose, fromTyped } from "../tensor/index.js";
import { arrayTypeOf, byteSize } from "../tensor/dtype.js";
import { describeData } from "../errors.js";
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

// The pickle's records, kept raw while unpickling: they are checked in collectTensors, where the tensor's
// name is known for the error message.
class StorageRef {
  constructor(
    readonly storageClass: string,
    readonly key: string,
    readonly numel: unknown,
  ) {}
}

class TensorRef {
  constructor(readonly args: unknown[]) {}
}

/** A tensor record that passed every check: its view lies inside a storage of known dtype and size. */
interface TensorView {
  storage: { key: string; dtype: DType; numel: number };
  offset: number;
  size: number[];
  stride: number[];
  numel: number;
}

// A state dict nests a few levels (a dict of dicts of optimizer state); more means a hostile or foreign file.
const MAX_DEPTH = 64;
// torch stores data.pkl uncompressed; a deflated one may still hold a few MiB of names, far below this cap.
const MAX_PICKLE_BYTES = 64 << 20;
// Views of shared storages (tied weights) may repeat a storage a few times, but the tensors of a state dict
// never take more than this many times the file's bytes: a pickle repeating one large view by memo
// reference could otherwise ask for terabytes.
const MAX_EXPANSION = 8;

const storageGlobals = Object.fromEntries(
  Object.keys(STORAGE_DTYPES).map((name) => [`torch.${name}`, {}]),
) as Record<string, PickleGlobal>;

const STATE_DICT_GLOBALS: Record<string, PickleGlobal> = {
  ...storageGlobals,
  // A state dict is an OrderedDict whose `_metadata` attribute (module versions) arrives by BUILD: not needed.
  "collections.OrderedDict": { call: () => new Map(), build: () => {} },
  "torch._utils._rebuild_tensor_v2": { call: (args) => new TensorRef(args) },
  // nn.Parameter objects (a model's parameters saved directly) hold their tensor as the first argument.
  "torch._utils._rebuild_parameter": { call: ([data]) => data },
};

function persistentLoad(source: string) {
  return (pid: unknown): StorageRef => {
    // ('storage', torch.FloatStorage, key, location, numel[, view_metadata])
    if (!Array.isArray(pid) || pid[0] !== "storage" || !(pid[1] instanceof PickleRef))
      throw new CheckpointError(`${source}: unsupported persistent id in the pickle (not a tensor storage)`);
    if (pid[5] !== undefined && pid[5] !== null)
      throw new CheckpointError(
        `${source}: storage views (files saved by PyTorch before 0.4) are not supported`,
      );
    return new StorageRef(pid[1].qualname, String(pid[2]), pid[4]);
  };
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isCounts = (v: unknown): v is number[] => Array.isArray(v) && v.every(isCount);

/** Checks one tensor record: (storage, offset, size, stride, …) with the view inside its storage. */
function checkTensor(ref: TensorRef, name: string, source: string): TensorView {
  const fail = (why: string) => new CheckpointError(`${source}: ${why}`);
  const expected = (what: string, field: string, v: unknown) =>
    fail(`expected ${what} for ${field} of ${name} but received ${describeData(v)}`);
  const [storage, offset, size, stride] = ref.args;
  if (!(storage instanceof StorageRef)) throw expected("a persistent storage", "the storage", storage);
  const cls = storage.storageClass.replace(/^torch\./, "");
  if (!storage.storageClass.startsWith("torch.") || !Object.hasOwn(STORAGE_DTYPES, cls))
    throw fail(
      `expected a torch storage class for the storage of ${name} but received ${storage.storageClass}`,
    );
  if (!isCount(storage.numel))
    throw expected("a non-negative integer", "the element count of the storage", storage.numel);
  if (!isCount(offset)) throw expected("a non-negative integer", "the storage offset", offset);
  if (!isCounts(size)) throw expected("a tuple of non-negative integers", "the size", size);
  if (!isCounts(stride) || stride.length !== size.length)
    throw expected(`a tuple of ${size.length} non-negative integers`, "the stride", stride);
  const numel = size.reduce((a, b) => a * b, 1);
  // A view never needs more elements than its storage holds (a stride-0 view could otherwise name billions).
  if (numel > storage.numel)
    throw fail(
      `${name} is a view of ${numel} elements over a storage of ${storage.numel}; save it with .contiguous()`,
    );
  let last = offset;
  for (let d = 0; d < size.length; d++) last += (size[d]! - 1) * stride[d]!;
  if (numel > 0 && last >= storage.numel) throw fail(`${name} reaches past the end of its storage`);
  return {
    storage: { key: storage.key, dtype: STORAGE_DTYPES[cls]!, numel: storage.numel },
    offset,
    size,
    stride,
    numel,
  };
}

/** Every tensor in a (nested) state dict, by dotted name, each checked; refuses cycles and deep nesting. */
function collectTensors(root: unknown, source: string): Map<string, TensorView> {
  if (!(root instanceof Map) && !(root instanceof TensorRef))
    throw new CheckpointError(
      `${source}: expected a state dict (a dict of tensors) but the file holds something else`,
    );
  const out = new Map<string, TensorView>();
  const open = new Set<Map<unknown, unknown>>();
  const visit = (value: unknown, prefix: string, depth: number): void => {
    if (value instanceof TensorRef) out.set(prefix, checkTensor(value, prefix, source));
    if (!(value instanceof Map)) return;
    if (open.has(value)) throw new CheckpointError(`${source}: the state dict contains itself at ${prefix}`);
    if (depth > MAX_DEPTH)
      throw new CheckpointError(`${source}: the state dict is nested deeper than ${MAX_DEPTH} levels`);
    open.add(value);
    for (const [k, v] of value) visit(v, prefix ? `${prefix}.${String(k)}` : String(k), depth + 1);
    open.delete(value);
  };
  visit(root, "", 0);
  return out;
}

/** The elements a strided view selects from its storage, row-major. */
function materialise(view: TensorView, data: Uint8Array, name: string, source: string): Tensor {
  const { storage, offset, size, stride, numel } = view;
  const Ctor = arrayTypeOf(storage.dtype);
  const el = byteSize(storage.dtype);
  if (data.length < storage.numel * el)
    throw new CheckpointError(
      `${source}: storage of ${name} has ${data.length} bytes, fewer than its ${storage.numel} elements need`,
    );
  // Copy into an aligned buffer: typed arrays need element alignment, the file guarantees none.
  const all = new Ctor(new Uint8Array(data.subarray(0, storage.numel * el)).buffer);
  let contiguous = true;
  for (let d = size.length - 1, expect = 1; d >= 0; expect *= size[d]!, d--) {
    if (size[d]! > 1 && stride[d] !== expect) contiguous = false;
  }
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

/** A checkpoint's checked tensor records, and its storages' bytes by key (`bytes`: what the records need). */
interface Checkpoint {
  views: Map<string, TensorView>;
  storage: (key: string, bytes: number) => Uint8Array;
}

function readZipCheckpoint(buf: Buffer, source: string): Checkpoint {
  const entries = readZipDirectory(buf, source);
  const pkl = [...entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pkl)
    throw new CheckpointError(`${source}: a zip archive without <name>/data.pkl is not a PyTorch checkpoint`);
  const prefix = pkl.slice(0, -"data.pkl".length);
  const { value } = unpickle(zipEntryData(buf, entries.get(pkl)!, source, MAX_PICKLE_BYTES), {
    globals: STATE_DICT_GLOBALS,
    persistentLoad: persistentLoad(source),
    source: `${source} (${pkl})`,
  });
  return {
    views: collectTensors(value, source),
    storage: (key, bytes) => {
      const e = entries.get(`${prefix}data/${key}`);
      if (!e) throw new CheckpointError(`${source}: storage ${key} is missing from the archive`);
      return zipEntryData(buf, e, source, bytes);
    },
  };
}

function readLegacyCheckpoint(buf: Buffer, source: string): Checkpoint {
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
  const views = collectTensors(main.value, source);
  const dtypes = new Map<string, DType>();
  for (const v of views.values()) dtypes.set(v.storage.key, v.storage.dtype);
  const spans = new Map<string, Uint8Array>();
  let at = keys.end;
  for (const key of (keys.value as unknown[]).map(String)) {
    if (at + 8 > buf.length) throw new CheckpointError(`${source} is truncated: storage ${key} is missing`);
    const count = Number(buf.readBigInt64LE(at));
    if (count < 0)
      throw new CheckpointError(`${source}: storage ${key} has a negative element count ${count}`);
    const el = byteSize(dtypes.get(key) ?? "uint8");
    const end = at + 8 + count * el;
    if (end > buf.length) throw new CheckpointError(`${source} is truncated inside storage ${key}`);
    spans.set(key, buf.subarray(at + 8, end));
    at = end;
  }
  return {
    views,
    storage: (key) => {
      const s = spans.get(key);
      if (!s) throw new CheckpointError(`${source}: storage ${key} is missing`);
      return s;
    },
  };
}

/** Reads a state dict (tensor name → tensor) from the bytes of a .pth file. */
export function decodeStateDict(buf: Buffer, source: string): Map<string, Tensor> {
  const { views, storage } = isZip(buf) ? readZipCheckpoint(buf, source) : readLegacyCheckpoint(buf, source);
  let total = 0;
  for (const v of views.values()) total += v.numel * byteSize(v.storage.dtype);
  if (total > MAX_EXPANSION * buf.length)
    throw new CheckpointError(
      `${source}: its tensors would take ${total} bytes, more than ${MAX_EXPANSION} times the file's ${buf.length}`,
    );
  const out = new Map<string, Tensor>();
  try {
    for (const [name, v] of views) {
      const bytes = storage(v.storage.key, v.storage.numel * byteSize(v.storage.dtype));
      out.set(name, materialise(v, bytes, name, source));
    }
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
