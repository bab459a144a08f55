// A restricted reader for Python pickles: it understands the opcodes of protocols 2–5 that data (numbers,
// strings, tuples, lists, dicts) is made of, and resolves a global only through the table the caller passes.
// It never runs code: a pickle naming any other global (a model class, os.system, …) is refused with an error
// that names it. This is how lastframe opens PyTorch state dicts without Python.
import { CheckpointError } from "../errors.js";

/** What a whitelisted global does when a pickle calls it (REDUCE, NEWOBJ) or sets its state (BUILD). */
export interface PickleGlobal {
  call?(args: unknown[]): unknown;
  build?(obj: unknown, state: unknown): void;
}

/** A global the pickle referenced, before it is called. */
export class PickleRef {
  constructor(
    readonly qualname: string,
    readonly impl: PickleGlobal,
  ) {}
}

export interface UnpickleOptions {
  /** Allowed globals by "module.name", e.g. "collections.OrderedDict". */
  globals: Record<string, PickleGlobal>;
  /** Resolves persistent ids (PyTorch's storages); without it a persistent id is an error. */
  persistentLoad?(pid: unknown): unknown;
  /** Names the file in errors. */
  source: string;
}

const MARK = Symbol("mark");
const MAX_LONG_BYTES = 64;

/** Unpickles the pickle that starts at `start`; returns its value and the offset just past its STOP. */
export function unpickle(buf: Uint8Array, opts: UnpickleOptions, start = 0): { value: unknown; end: number } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const text = new TextDecoder("utf-8");
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  const madeBy = new WeakMap<object, PickleGlobal>();
  let at = start;
  let opAt = start;
  const fail = (why: string) =>
    new CheckpointError(`${opts.source}: cannot read pickle at byte ${opAt}: ${why}`);

  const need = (n: number) => {
    if (at + n > buf.length) throw fail("unexpected end of data (truncated file?)");
    const p = at;
    at += n;
    return p;
  };
  const u8 = () => buf[need(1)]!;
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => Number(view.getBigUint64(need(8), true));
  const bytes = (n: number) => {
    const p = need(n);
    return buf.subarray(p, p + n);
  };
  const line = () => {
    const nl = buf.indexOf(10, at);
    if (nl < 0) throw fail("unterminated text line");
    const s = text.decode(buf.subarray(at, nl));
    at = nl + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0) throw fail("stack underflow");
    return stack.pop();
  };
  const top = () => {
    if (stack.length === 0) throw fail("stack underflow");
    return stack[stack.length - 1];
  };
  /** Pops everything above the topmost mark, and the mark. */
  const popMark = () => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw fail("no mark on the stack");
    const items = stack.slice(i + 1);
    stack.length = i;
    return items;
  };
  const resolveGlobal = (module: string, name: string) => {
    const qualname = `${module}.${name}`;
    const impl = opts.globals[qualname];
    if (!impl)
      throw new CheckpointError(
        `${opts.source}: refusing to load Python global ${qualname}: only plain state dicts of tensors can be read ` +
          "without running Python code (save model.state_dict(), not the model)",
      );
    return new PickleRef(qualname, impl);
  };
  const call = (fn: unknown, args: unknown) => {
    if (!(fn instanceof PickleRef) || !fn.impl.call) throw fail(`${describe(fn)} is not callable`);
    if (!Array.isArray(args)) throw fail("call arguments are not a tuple");
    const obj = fn.impl.call(args);
    if (obj !== null && typeof obj === "object") madeBy.set(obj, fn.impl);
    return obj;
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof Map)) throw fail(`SETITEM on ${describe(dict)}`);
    if (items.length % 2) throw fail("odd number of dict items");
    for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
  };
  const appendItems = (list: unknown, items: unknown[]) => {
    if (!Array.isArray(list)) throw fail(`APPEND on ${describe(list)}`);
    for (const item of items) list.push(item); // push(...items) overflows the call stack past ~100k items
  };
  const long = (b: Uint8Array): number | bigint => {
    // Building a BigInt byte by byte is quadratic; data never needs more than a few bytes (a magic number).
    if (b.length > MAX_LONG_BYTES)
      throw fail(`an integer of ${b.length} bytes is longer than ${MAX_LONG_BYTES}`);
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b.length && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    opAt = at;
    const op = u8();
    // prettier-ignore
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME: a length hint only
      case 0x2e: return { value: pop(), end: at }; // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      // numbers and constants
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x8a: stack.push(long(bytes(u8()))); break; // LONG1
      case 0x8b: stack.push(long(bytes(u32()))); break; // LONG4
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x49: { // INT (protocol 0 text; "01"/"00" are True/False)
        const s = line();
        stack.push(s === "01" ? true : s === "00" ? false : Number(s));
        break;
      }
      // strings and bytes
      case 0x58: stack.push(text.decode(bytes(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(text.decode(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(text.decode(bytes(u64()))); break; // BINUNICODE8
      case 0x54: stack.push(text.decode(bytes(u32()))); break; // BINSTRING
      case 0x55: stack.push(text.decode(bytes(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(bytes(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: stack.push(bytes(u64()).slice()); break; // BINBYTES8
      // containers (tuples are arrays)
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(), b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x64: { const d = new Map(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x73: { const v = pop(), k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      // memo
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x70: memo.set(Number(line()), top()); break; // PUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
        const key = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(line());
        if (!memo.has(key)) throw fail(`memo key ${key} is not defined`);
        stack.push(memo.get(key));
        break;
      }
      // globals, calls and persistent ids
      case 0x63: { const module = line(); stack.push(resolveGlobal(module, line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof module !== "string" || typeof name !== "string") throw fail("STACK_GLOBAL needs two strings");
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x52: { const args = pop(); stack.push(call(pop(), args)); break; } // REDUCE
      case 0x81: { const args = pop(); stack.push(call(pop(), args)); break; } // NEWOBJ
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        const impl = obj !== null && typeof obj === "object" ? madeBy.get(obj) : undefined;
        if (!impl?.build) throw fail(`cannot set the state of ${describe(obj)}`);
        impl.build(obj, state);
        break;
      }
      case 0x51: { // BINPERSID
        if (!opts.persistentLoad) throw fail("persistent ids are not allowed here");
        stack.push(opts.persistentLoad(pop()));
        break;
      }
      default:
        throw fail(`unsupported opcode 0x${op.toString(16).padStart(2, "0")}`);
    }
  }
}

function describe(v: unknown): string {
  if (v instanceof PickleRef) return v.qualname;
  if (v === null) return "None";
  if (Array.isArray(v)) return "a tuple or list";
  if (v instanceof Map) return "a dict";
  return typeof v;
}
