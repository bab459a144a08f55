// Reading tar archives, optionally gzip-compressed (detected by the gzip magic bytes, not the file name), through
// tar-stream (ustar, GNU long names, pax headers). This file adds what lastframe's data loaders need on top:
//
//   for await (const e of readTar(file, (name) => name.endsWith(".jpg"))) { e.name; e.size; e.data }
//
// Entries come in archive order. `data` holds the file's bytes only when the entry is a regular file and `want`
// (if given) returned true for it; otherwise it is null and the bytes are drained without being kept, so memory
// stays bounded by the entries the caller keeps. Names are cleaned ('/'-separated, no leading "./" or trailing
// "/"), and every failure (no such file, a damaged header, a cut-off archive) is a DataError naming the file.

import fs from "node:fs";
import { Readable } from "node:stream";
import zlib from "node:zlib";
import { extract, type Header } from "tar-stream";
import { DataError } from "../errors.js";

export interface TarEntry {
  /** Path inside the archive, '/'-separated, without a leading "./" or trailing "/". */
  name: string;
  type: "file" | "dir" | "other";
  size: number;
  data: Buffer | null;
}

function cleanName(name: string): string {
  let n = name.replace(/\\/g, "/");
  while (n.startsWith("./")) n = n.slice(2);
  while (n.endsWith("/")) n = n.slice(0, -1);
  return n;
}

/** True when the file starts with the gzip magic bytes. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

function entryType(type: Header["type"]): TarEntry["type"] {
  if (type === "file" || type === "contiguous-file") return "file";
  return type === "directory" ? "dir" : "other";
}

/** The archive's bytes, gunzipped when it is gzip-compressed. */
async function open(file: string): Promise<Readable> {
  const fd = await fs.promises.open(file, "r").catch((e: NodeJS.ErrnoException) => {
    throw new DataError(`Cannot open archive ${file}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
  });
  const head = Buffer.alloc(2);
  await fd.read(head, 0, 2, 0);
  await fd.close();
  const raw = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  if (!isGzip(head)) return raw;
  const gunzip = zlib.createGunzip({ chunkSize: 1 << 18 });
  raw.on("error", (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

/** Streams the entries of a .tar or .tar.gz file; see the header comment. */
export async function* readTar(
  file: string,
  want?: (name: string, size: number) => boolean,
): AsyncGenerator<TarEntry> {
  const bytes = await open(file);
  const entries = extract();
  bytes.on("error", (e) => entries.destroy(e));
  bytes.pipe(entries);
  let inside: string | null = null; // the entry being read, for messages
  try {
    for await (const entry of entries) {
      const name = cleanName(entry.header.name);
      const type = entryType(entry.header.type);
      const size = entry.header.size ?? 0;
      inside = name;
      if (type !== "file" || (want && !want(name, size))) {
        entry.resume();
        await new Promise<void>((done) => entry.once("end", () => done()));
        yield { name, type, size, data: null };
      } else {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        yield { name, type, size, data: Buffer.concat(chunks, size) };
      }
      inside = null;
    }
  } catch (err) {
    throw archiveError(file, err as Error, inside);
  } finally {
    bytes.destroy();
    entries.destroy();
  }
}

/** tar-stream's and zlib's errors as one line naming the archive (and the entry a cut-off archive ends in). */
function archiveError(file: string, err: Error, inside: string | null): DataError {
  if (err instanceof DataError) return err;
  if (/unexpected end/i.test(err.message))
    return new DataError(
      `Truncated tar archive ${file}: it ends inside ${inside !== null ? `entry ${JSON.stringify(inside)}` : "a header"}`,
      { cause: err },
    );
  if (/invalid tar header/i.test(err.message))
    return new DataError(`Corrupt tar archive ${file}: a header is damaged (not a tar file, or damaged)`, {
      cause: err,
    });
  return new DataError(`Cannot read archive ${file}: ${err.message}`, { cause: err });
}
