// Builds torch.save-style files byte by byte, so tests can make the malformed ones PyTorch never writes: a
// pickle assembler for state dicts of tensor references, and a zip writer whose declared sizes can lie.
import { deflateRawSync } from "node:zlib";

/** Pickle opcodes by name, each a function returning its bytes (protocol 2, as torch.save writes). */
export const op = {
  proto: () => [0x80, 2],
  stop: () => [0x2e],
  mark: () => [0x28],
  none: () => [0x4e],
  false: () => [0x89],
  int: (n: number) => {
    const b = Buffer.alloc(5);
    b[0] = 0x4a;
    b.writeInt32LE(n, 1);
    return [...b];
  },
  float: (x: number) => {
    const b = Buffer.alloc(9);
    b[0] = 0x47;
    b.writeDoubleBE(x, 1);
    return [...b];
  },
  str: (s: string) => {
    const t = Buffer.from(s);
    const b = Buffer.alloc(5);
    b[0] = 0x58;
    b.writeUInt32LE(t.length, 1);
    return [...b, ...t];
  },
  global: (module: string, name: string) => [0x63, ...Buffer.from(`${module}\n${name}\n`)],
  tuple: () => [0x74],
  emptyTuple: () => [0x29],
  emptyDict: () => [0x7d],
  setitem: () => [0x73],
  setitems: () => [0x75],
  reduce: () => [0x52],
  binpersid: () => [0x51],
  put: (k: number) => [0x71, k],
  get: (k: number) => [0x68, k],
};

/** A tuple of the given items' opcodes. */
function tuple(...items: number[][]): number[] {
  return [...op.mark(), ...items.flat(), ...op.tuple()];
}

export interface TensorSpec {
  /** Storage global (default torch.FloatStorage). */
  storageClass?: [string, string];
  key?: string;
  /** Elements the storage declares. */
  numel: number;
  offset?: number;
  /** Each item is a pickled value: op.int(3), op.float(1.5), op.str("x"). */
  size: number[][];
  stride: number[][];
}

/** _rebuild_tensor_v2(persistent storage, offset, size, stride, requires_grad, hooks). */
export function tensorRef(t: TensorSpec): number[] {
  const [module, name] = t.storageClass ?? ["torch", "FloatStorage"];
  const pid = tuple(
    op.str("storage"),
    op.global(module, name),
    op.str(t.key ?? "0"),
    op.str("cpu"),
    op.int(t.numel),
  );
  return [
    ...op.global("torch._utils", "_rebuild_tensor_v2"),
    ...tuple(
      [...pid, ...op.binpersid()],
      op.int(t.offset ?? 0),
      tuple(...t.size),
      tuple(...t.stride),
      op.false(),
      [...op.global("collections", "OrderedDict"), ...op.emptyTuple(), ...op.reduce()],
    ),
    ...op.reduce(),
  ];
}

/** A whole pickle of a dict {name: value opcodes}. */
export function statePickle(entries: [string, number[]][]): Buffer {
  const items = entries.flatMap(([k, v]) => [...op.str(k), ...v]);
  return Buffer.from([
    ...op.proto(),
    ...op.emptyDict(),
    ...op.mark(),
    ...items,
    ...op.setitems(),
    ...op.stop(),
  ]);
}

export interface ZipInput {
  name: string;
  data: Buffer;
  deflate?: boolean;
  /** The uncompressed size written in the headers (default: the real one). */
  declaredSize?: number;
}

/** A zip archive with one local header + data per entry, a central directory and an end record. */
export function makeZip(inputs: ZipInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of inputs) {
    const name = Buffer.from(e.name);
    const body = e.deflate ? deflateRawSync(e.data) : e.data;
    const size = e.declaredSize ?? e.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(e.deflate ? 8 : 0, 10);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(inputs.length, 8);
  end.writeUInt16LE(inputs.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

/** A torch.save zip: archive/data.pkl plus archive/data/<key> for each storage. */
export function makePth(
  pickle: Buffer,
  storages: Record<string, Buffer> = {},
  deflatePickle = false,
): Buffer {
  return makeZip([
    { name: "archive/data.pkl", data: pickle, deflate: deflatePickle },
    ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data })),
  ]);
}
