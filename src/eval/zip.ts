// A small zip reader: the central directory, and each entry's bytes. PyTorch checkpoints (torch.save since 1.6)
// and numpy's .npz files are zip archives; PyTorch stores its entries uncompressed, numpy may deflate them.
// Zip64 records are read so that checkpoints over 4 GiB work too.
import { inflateRawSync } from "node:zlib";
import { CheckpointError } from "../errors.js";

export interface ZipEntry {
  name: string;
  /** 0: stored, 8: deflated. */
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's local header. */
  headerOffset: number;
}

const SIG = {
  local: 0x04034b50,
  central: 0x02014b50,
  end: 0x06054b50,
  end64: 0x06064b50,
  locator64: 0x07064b50,
};
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;

export function isZip(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x50 && buf[1] === 0x4b && buf[2] === 0x03 && buf[3] === 0x04;
}

function u64(buf: Buffer, at: number): number {
  return Number(buf.readBigUInt64LE(at));
}

/** The archive's entries by name. `source` names the file in errors. */
export function readZipDirectory(buf: Buffer, source: string): Map<string, ZipEntry> {
  const fail = (why: string) => new CheckpointError(`${source} is not a readable zip archive: ${why}`);
  // The end-of-central-directory record is the last 22 bytes, unless a comment (at most 64 KiB) follows it.
  let end = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - MAX16); i--) {
    if (buf.readUInt32LE(i) === SIG.end) {
      end = i;
      break;
    }
  }
  if (end < 0) throw fail("no end-of-central-directory record (truncated download?)");
  let count = buf.readUInt16LE(end + 10);
  let dirSize = buf.readUInt32LE(end + 12);
  let dirOffset = buf.readUInt32LE(end + 16);
  if (count === MAX16 || dirSize === MAX32 || dirOffset === MAX32) {
    const locator = end - 20;
    if (locator < 0 || buf.readUInt32LE(locator) !== SIG.locator64)
      throw fail("zip64 sizes without a zip64 locator");
    const end64 = u64(buf, locator + 8);
    if (end64 + 56 > buf.length || buf.readUInt32LE(end64) !== SIG.end64) throw fail("bad zip64 end record");
    count = u64(buf, end64 + 32);
    dirSize = u64(buf, end64 + 40);
    dirOffset = u64(buf, end64 + 48);
  }
  if (dirOffset + dirSize > buf.length)
    throw fail(`the central directory ends at ${dirOffset + dirSize}, past the file's ${buf.length} bytes`);
  const entries = new Map<string, ZipEntry>();
  let at = dirOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > buf.length || buf.readUInt32LE(at) !== SIG.central)
      throw fail(`central directory entry ${i} is damaged`);
    const flags = buf.readUInt16LE(at + 8);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const next = at + 46 + nameLen + extraLen + commentLen;
    if (next > buf.length) throw fail(`central directory entry ${i} runs past the end of the file`);
    const name = buf.toString("utf8", at + 46, at + 46 + nameLen);
    if (flags & 1) throw fail(`entry ${name} is encrypted`);
    const e: ZipEntry = {
      name,
      method: buf.readUInt16LE(at + 10),
      compressedSize: buf.readUInt32LE(at + 20),
      size: buf.readUInt32LE(at + 24),
      headerOffset: buf.readUInt32LE(at + 42),
    };
    if (!readZip64Extra(buf, at + 46 + nameLen, extraLen, e))
      throw fail(`entry ${name} has a short zip64 field`);
    entries.set(name, e);
    at = next;
  }
  return entries;
}

/**
 * Zip64 extra field (id 1): 8-byte values for exactly those fields whose 4-byte slot holds 0xFFFFFFFF. False
 * when the field is shorter than the values it must hold.
 */
function readZip64Extra(buf: Buffer, start: number, len: number, e: ZipEntry): boolean {
  for (let at = start; at + 4 <= start + len;) {
    const id = buf.readUInt16LE(at);
    const size = buf.readUInt16LE(at + 2);
    if (id === 1) {
      let p = at + 4;
      for (const key of ["size", "compressedSize", "headerOffset"] as const) {
        if (e[key] === MAX32) {
          if (p + 8 > Math.min(at + 4 + size, start + len)) return false;
          e[key] = u64(buf, p);
          p += 8;
        }
      }
    }
    at += 4 + size;
  }
  return true;
}

// Deflate expands at most 1032:1 (a 258-byte match in about 2 bits).
const MAX_DEFLATE_RATIO = 1032;

/**
 * An entry's bytes: a view into `buf` for stored entries, a new buffer for deflated ones. A deflated entry is
 * inflated only when its declared size is at most `limit` (the most the caller can use) and what its
 * compressed bytes can hold, and inflation stops at the declared size.
 */
export function zipEntryData(buf: Buffer, e: ZipEntry, source: string, limit: number): Buffer {
  const fail = (why: string) => new CheckpointError(`${source}: cannot read zip entry ${e.name}: ${why}`);
  if (e.headerOffset + 30 > buf.length || buf.readUInt32LE(e.headerOffset) !== SIG.local)
    throw fail("its local header is missing");
  // The local header's extra field may differ from the central one (PyTorch pads it to align the data).
  const start =
    e.headerOffset + 30 + buf.readUInt16LE(e.headerOffset + 26) + buf.readUInt16LE(e.headerOffset + 28);
  if (start + e.compressedSize > buf.length)
    throw fail(`it ends past the end of the file (truncated download?)`);
  const raw = buf.subarray(start, start + e.compressedSize);
  if (e.method === 0) return raw;
  if (e.method === 8) {
    if (e.size > limit) throw fail(`it declares ${e.size} bytes, more than the ${limit} it may hold`);
    if (e.size > MAX_DEFLATE_RATIO * e.compressedSize)
      throw fail(
        `it declares ${e.size} bytes, more than its ${e.compressedSize} compressed bytes can inflate to`,
      );
    let out: Buffer;
    try {
      // maxOutputLength must be positive; an empty entry inflating to 1 byte still fails the check below.
      out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
        throw fail(`it inflates to more than its declared ${e.size} bytes`);
      throw fail(`its deflate stream is corrupt (${(err as Error).message})`);
    }
    if (out.length !== e.size) throw fail(`it inflates to ${out.length} bytes, not ${e.size}`);
    return out;
  }
  throw fail(`compression method ${e.method} is not supported (only stored and deflate)`);
}
