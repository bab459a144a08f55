// A small streaming reader for tar archives, optionally gzip-compressed (detected by the gzip magic bytes, not the
// file name). It understands ustar names (prefix + name), GNU long names (type 'L') and pax extended headers
// (type 'x', keys `path` and `size`); links, devices and global pax headers are reported as type "other".
//
//   for await (const e of readTar(file, (name) => name.endsWith(".jpg"))) { e.name; e.size; e.data }
//
// Entries come in archive order. `data` holds the file's bytes only when the entry is a regular file and `want`
// (if given) returned true for it; otherwise it is null and the bytes are skipped without being kept. Archives are
// read in large chunks, so memory stays bounded by the entries the caller keeps.

import fs from "node:fs";
import zlib from "node:zlib";
import { DataError } from "../errors.js";

export interface TarEntry {
  /** Path inside the archive, '/'-separated, without a leading "./" or trailing "/". */
  name: string;
  type: "file" | "dir" | "other";
  size: number;
  data: Buffer | null;
}

const BLOCK = 512;

function readString(buf: Buffer, start: number, len: number): string {
  let end = start;
  const stop = start + len;
  while (end < stop && buf[end] !== 0) end++;
  return buf.toString("utf8", start, end);
}

function readOctal(buf: Buffer, start: number, len: number, what: string, file: string): number {
  if ((buf[start]! & 0x80) !== 0) {
    // GNU base-256 encoding for large values.
    let v = buf[start]! & 0x7f;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + buf[i]!;
    return v;
  }
  const s = readString(buf, start, len).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s))
    throw new DataError(`Corrupt tar header in ${file}: ${what} field is ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

function isZeroBlock(buf: Buffer, off: number): boolean {
  for (let i = off; i < off + BLOCK; i++) if (buf[i] !== 0) return false;
  return true;
}

function cleanName(name: string): string {
  let n = name.replace(/\\/g, "/");
  while (n.startsWith("./")) n = n.slice(2);
  while (n.endsWith("/")) n = n.slice(0, -1);
  return n;
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp < 0) break;
    const len = parseInt(data.toString("utf8", off, sp), 10);
    if (!(len > 0)) break;
    const rec = data.toString("utf8", sp + 1, off + len - 1); // without trailing "\n"
    const eq = rec.indexOf("=");
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    off += len;
  }
  return out;
}

/** True when the file starts with the gzip magic bytes. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

async function* chunks(file: string): AsyncGenerator<Buffer> {
  const fd = await fs.promises.open(file, "r").catch((e: NodeJS.ErrnoException) => {
    throw new DataError(`Cannot open archive ${file}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
  });
  const head = Buffer.alloc(2);
  await fd.read(head, 0, 2, 0);
  await fd.close();
  const raw = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  const stream = isGzip(head) ? raw.pipe(zlib.createGunzip({ chunkSize: 1 << 18 })) : raw;
  raw.on("error", (e) => stream.destroy(e));
  try {
    for await (const c of stream) yield c as Buffer;
  } catch (e) {
    throw new DataError(`Cannot read archive ${file}: ${(e as Error).message}`, { cause: e });
  } finally {
    raw.destroy();
    stream.destroy();
  }
}

/** Streams the entries of a .tar or .tar.gz file; see the header comment. */
export async function* readTar(
  file: string,
  want?: (name: string, size: number) => boolean,
): AsyncGenerator<TarEntry> {
  let pending: Buffer = Buffer.alloc(0);
  let pos = 0; // archive offset of pending[0], for messages
  let longName: string | null = null;
  let pax: Record<string, string> = {};
  let sawEnd = false;

  // State for the entry whose data is being read.
  let cur: {
    name: string;
    type: TarEntry["type"];
    size: number;
    keep: boolean;
    meta: "L" | "x" | null;
  } | null = null;
  let data: Buffer | null = null;
  let filled = 0;
  let skip = 0; // bytes still to skip (data not kept, or padding)

  for await (const chunk of chunks(file)) {
    if (sawEnd) continue;
    const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let off = 0;
    while (off < buf.length) {
      if (skip > 0) {
        const n = Math.min(skip, buf.length - off);
        skip -= n;
        off += n;
        continue;
      }
      if (cur) {
        const need = cur.size - filled;
        const n = Math.min(need, buf.length - off);
        if (data) buf.copy(data, filled, off, off + n);
        filled += n;
        off += n;
        if (filled < cur.size) break;
        const padded = Math.ceil(cur.size / BLOCK) * BLOCK;
        skip = padded - cur.size;
        const done = cur;
        const bytes = data;
        cur = null;
        data = null;
        if (done.meta === "L") longName = cleanName(readString(bytes!, 0, bytes!.length));
        else if (done.meta === "x") pax = parsePax(bytes!);
        else yield { name: done.name, type: done.type, size: done.size, data: done.keep ? bytes : null };
        continue;
      }
      // Header block.
      if (buf.length - off < BLOCK) break;
      if (isZeroBlock(buf, off)) {
        sawEnd = true; // first of the two zero blocks ending the archive
        break;
      }
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : buf[off + i]!;
      const stored = readOctal(buf, off + 148, 8, "checksum", file);
      if (stored !== sum) {
        throw new DataError(
          `Corrupt tar archive ${file}: bad header checksum at offset ${pos + off} (not a tar file, or damaged)`,
        );
      }
      const typeflag = String.fromCharCode(buf[off + 156]!);
      let name = readString(buf, off, 100);
      if (readString(buf, off + 257, 5) === "ustar") {
        const prefix = readString(buf, off + 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      }
      let size = readOctal(buf, off + 124, 12, "size", file);
      off += BLOCK;
      if (typeflag === "L" || typeflag === "x") {
        cur = { name, type: "other", size, keep: true, meta: typeflag };
        data = Buffer.allocUnsafe(size);
        filled = 0;
        continue;
      }
      if (longName !== null) name = longName;
      if (pax.path !== undefined) name = pax.path;
      if (pax.size !== undefined) size = Number(pax.size);
      longName = null;
      pax = {};
      name = cleanName(name);
      const type: TarEntry["type"] =
        typeflag === "0" || typeflag === "\0" || typeflag === "7"
          ? "file"
          : typeflag === "5"
            ? "dir"
            : "other";
      if (type !== "file") {
        skip = type === "dir" ? 0 : Math.ceil(size / BLOCK) * BLOCK;
        if (typeflag !== "g") yield { name, type, size, data: null };
        continue;
      }
      const keep = want ? want(name, size) : true;
      if (!keep) {
        skip = Math.ceil(size / BLOCK) * BLOCK;
        yield { name, type, size, data: null };
        continue;
      }
      cur = { name, type, size, keep, meta: null };
      data = Buffer.allocUnsafe(size);
      filled = 0;
      if (size === 0) {
        cur = null;
        data = null;
        yield { name, type, size, data: Buffer.alloc(0) };
      }
    }
    pending = off < buf.length ? buf.subarray(off) : Buffer.alloc(0);
    if (pending.length > 0 && pending.length < BLOCK && !cur && skip === 0) pending = Buffer.from(pending);
    pos += off;
  }
  if (!sawEnd && (cur !== null || skip > 0 || pending.length > 0)) {
    throw new DataError(
      `Truncated tar archive ${file}: it ends inside ${cur ? `entry ${JSON.stringify(cur.name)}` : "a header"}`,
    );
  }
}
