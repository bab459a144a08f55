// On-disk cache of prepared data sets: one file per (source, preparation parameters), holding the uint8 images
// and int32 labels uncompressed so that loading is a few large reads.
//
// Location: <cache root>/data (root: $LASTFRAME_CACHE, else <repo>/.cache/lastframe). File name: <name>-<16 hex of sha256(key)>.lfd,
// where the key (a JSON string) holds the source path and fingerprint and every preparation parameter; the key is
// stored in the file and compared on load, so a hash collision or a changed source cannot return wrong data.
//
// Layout (little-endian):
//   0   "LFDCACHE"                 8 bytes
//   8   format version             uint32
//   12  header length L            uint32
//   16  header JSON (utf8)         L bytes: { key, name, info, splits: [{ split, n, c, h, w, classes,
//                                   imagesOffset, labelsOffset (or -1), }], totalBytes }
//   ... arrays, each at a 64-byte aligned offset
// Files are written to a temporary name in the same folder, flushed, then renamed, so an interrupted run never
// leaves a partial file under the final name. A file with another format version is reported and rebuilt.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { DataError } from "../errors.js";
import { writeFileAtomicAsync } from "../util/atomic.js";
import { repoRoot } from "./paths.js";
import type { DatasetInfo, ImageSet, SplitData, SplitName } from "./types.js";

export const CACHE_FORMAT_VERSION = 1;
const MAGIC = "LFDCACHE";
const ALIGN = 64;
const IO_CHUNK = 1 << 30;

/** The root of everything lastframe caches: $LASTFRAME_CACHE, else <repo>/.cache/lastframe. */
export function cacheRoot(): string {
  const env = process.env.LASTFRAME_CACHE;
  return env ? path.resolve(env) : path.join(repoRoot(), ".cache", "lastframe");
}

export function defaultCacheDir(): string {
  return path.join(cacheRoot(), "data");
}

/** Cache file path for a dataset name and key. */
export function cacheFilePath(dir: string, name: string, key: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 60) || "data";
  const hash = crypto.createHash("sha256").update(key).digest("hex").slice(0, 16);
  return path.join(dir, `${safe}-${hash}.lfd`);
}

interface SplitHeader {
  split: SplitName;
  n: number;
  c: number;
  h: number;
  w: number;
  classes: string[] | null;
  imagesOffset: number;
  labelsOffset: number;
}

interface CacheHeader {
  key: string;
  name: string;
  info: Pick<DatasetInfo, "source" | "format" | "skipped" | "ignored">;
  splits: SplitHeader[];
  totalBytes: number;
}

const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

function splitsOf(data: SplitData): [SplitName, ImageSet][] {
  const out: [SplitName, ImageSet][] = [["train", data.train]];
  if (data.valid) out.push(["valid", data.valid]);
  out.push(["test", data.test]);
  return out;
}

/** Serialises `data` under `key` to `file` (atomically). */
export async function writeCache(file: string, key: string, data: SplitData): Promise<void> {
  if (os.endianness() !== "LE") throw new DataError("The data cache supports little-endian machines only");
  const splits = splitsOf(data);
  for (const [split, s] of splits) {
    if (s.images.length !== s.n * s.c * s.h * s.w) {
      throw new DataError(
        `Cannot cache ${data.name}/${split}: ${s.images.length} bytes for ${s.n}x${s.c}x${s.h}x${s.w}`,
      );
    }
    if (s.labels && s.labels.length !== s.n) {
      throw new DataError(`Cannot cache ${data.name}/${split}: ${s.labels.length} labels for ${s.n} images`);
    }
  }
  // Offsets depend on the header length, which depends on the offsets' digits: iterate to a fixed point.
  let headerBytes = 0;
  let header: CacheHeader;
  let json: Buffer;
  for (;;) {
    let at = align(16 + headerBytes);
    const hs: SplitHeader[] = [];
    for (const [split, s] of splits) {
      const imagesOffset = at;
      at = align(at + s.images.length);
      const labelsOffset = s.labels ? at : -1;
      if (s.labels) at = align(at + s.labels.byteLength);
      hs.push({ split, n: s.n, c: s.c, h: s.h, w: s.w, classes: s.classes, imagesOffset, labelsOffset });
    }
    const { source, format, skipped, ignored } = data.info;
    header = { key, name: data.name, info: { source, format, skipped, ignored }, splits: hs, totalBytes: at };
    json = Buffer.from(JSON.stringify(header), "utf8");
    if (json.length <= headerBytes) break;
    headerBytes = json.length + 32;
  }
  const h = header;
  const j = json;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const head = Buffer.alloc(align(16 + headerBytes));
    head.write(MAGIC, 0, "latin1");
    head.writeUInt32LE(CACHE_FORMAT_VERSION, 8);
    head.writeUInt32LE(j.length, 12);
    j.copy(head, 16);
    yield head;
    let at = head.length;
    for (let i = 0; i < splits.length; i++) {
      const s = splits[i]![1];
      const sh = h.splits[i]!;
      if (sh.imagesOffset > at) yield new Uint8Array(sh.imagesOffset - at);
      yield s.images;
      at = sh.imagesOffset + s.images.length;
      if (s.labels) {
        if (sh.labelsOffset > at) yield new Uint8Array(sh.labelsOffset - at);
        yield new Uint8Array(s.labels.buffer, s.labels.byteOffset, s.labels.byteLength);
        at = sh.labelsOffset + s.labels.byteLength;
      }
    }
    if (h.totalBytes > at) yield new Uint8Array(h.totalBytes - at);
  }
  await writeFileAtomicAsync(file, chunks());
}

export type CacheRead =
  { status: "hit"; data: SplitData } | { status: "missing" } | { status: "stale"; reason: string };

async function readInto(fd: fs.promises.FileHandle, dst: Uint8Array, position: number): Promise<void> {
  for (let off = 0; off < dst.length;) {
    const len = Math.min(IO_CHUNK, dst.length - off);
    const { bytesRead } = await fd.read(dst, off, len, position + off);
    if (bytesRead === 0) throw new Error("unexpected end of file");
    off += bytesRead;
  }
}

/**
 * Loads a cache file written under `key`. "missing": no file; "stale": a file that must be rebuilt (other format
 * version, other key, truncated or unreadable), with the reason.
 */
export async function readCache(file: string, key: string): Promise<CacheRead> {
  let fd: fs.promises.FileHandle;
  try {
    fd = await fs.promises.open(file, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { status: "missing" };
    return { status: "stale", reason: `cannot open it (${(e as Error).message})` };
  }
  try {
    const size = (await fd.stat()).size;
    if (size < 16) return { status: "stale", reason: `it is only ${size} bytes` };
    const head = Buffer.alloc(16);
    await readInto(fd, head, 0);
    if (head.toString("latin1", 0, 8) !== MAGIC)
      return { status: "stale", reason: "it is not a lastframe data cache" };
    const version = head.readUInt32LE(8);
    if (version !== CACHE_FORMAT_VERSION) {
      return {
        status: "stale",
        reason: `it has cache format version ${version}, this lastframe uses ${CACHE_FORMAT_VERSION}`,
      };
    }
    const jlen = head.readUInt32LE(12);
    if (16 + jlen > size) return { status: "stale", reason: "its header is truncated" };
    const jbuf = Buffer.alloc(jlen);
    await readInto(fd, jbuf, 16);
    let header: CacheHeader;
    try {
      header = JSON.parse(jbuf.toString("utf8")) as CacheHeader;
    } catch {
      return { status: "stale", reason: "its header is not valid JSON" };
    }
    if (header.key !== key) return { status: "stale", reason: "it was made from other data or settings" };
    if (header.totalBytes !== size) {
      return {
        status: "stale",
        reason: `it has ${size} bytes, its header says ${header.totalBytes} (truncated?)`,
      };
    }
    const sets: Partial<Record<SplitName, ImageSet>> = {};
    for (const s of header.splits) {
      const images = new Uint8Array(s.n * s.c * s.h * s.w);
      await readInto(fd, images, s.imagesOffset);
      let labels: Int32Array | null = null;
      if (s.labelsOffset >= 0) {
        labels = new Int32Array(s.n);
        await readInto(fd, new Uint8Array(labels.buffer), s.labelsOffset);
      }
      sets[s.split] = { images, n: s.n, c: s.c, h: s.h, w: s.w, labels, classes: s.classes };
    }
    if (!sets.train || !sets.test) return { status: "stale", reason: "it lacks the train or test split" };
    const data: SplitData = {
      name: header.name,
      train: sets.train,
      test: sets.test,
      info: { ...header.info, fromCache: true, cacheFile: file, ms: 0 },
    };
    if (sets.valid) data.valid = sets.valid;
    return { status: "hit", data };
  } catch (e) {
    return { status: "stale", reason: `reading it failed (${(e as Error).message})` };
  } finally {
    await fd.close();
  }
}
