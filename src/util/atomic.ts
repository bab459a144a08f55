// File writes that survive faults. Atomic writes go to a uniquely named temp file beside the target, are fsynced,
// then renamed: a crash or kill -9 at any moment leaves either the old file or the new one, never half of one.
// write(2) may write fewer bytes than asked (a file size limit, a nearly full disk), so every write loops until
// all bytes are written or it fails; running out of room is reported as a StorageError naming the file.
import { randomBytes } from "node:crypto";
import {
  appendFileSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { open, mkdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { StorageError } from "../errors.js";

const noRoom: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is exceeded",
  EFBIG: "the file would exceed the size limit (ulimit -f)",
};

/** `err` as a StorageError naming `path` when it means there is no room to write (else `err` itself). */
export function storageError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  return code !== undefined && code in noRoom
    ? new StorageError(`Cannot write ${path}: ${noRoom[code]} (${code})`)
    : err;
}

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

function asBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? Buffer.from(data) : data;
}

function writeAll(path: string, data: Uint8Array | string, flag: "w" | "wx"): void {
  const fd = openSync(path, flag);
  try {
    const bytes = asBytes(data);
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes all of `data` to `path` in place and fsyncs it (for files inside a folder that is renamed whole). */
export function writeSynced(path: string, data: Uint8Array | string): void {
  try {
    writeAll(path, data, "w");
  } catch (err) {
    throw storageError(err, path);
  }
}

/** Appends text (a log line), without fsync: a torn last line is for the reader to skip. */
export function appendText(path: string, text: string): void {
  try {
    appendFileSync(path, text);
  } catch (err) {
    throw storageError(err, path);
  }
}

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPath(path);
  try {
    writeAll(tmp, data, "wx");
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw storageError(err, path);
  }
}

/** The same for data produced piece by piece (large caches), without holding it all in memory. */
export async function writeFileAtomicAsync(
  path: string,
  data: Uint8Array | string | Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPath(path);
  const chunks = typeof data === "string" || data instanceof Uint8Array ? [asBytes(data)] : data;
  try {
    const fd = await open(tmp, "wx");
    try {
      for await (const chunk of chunks)
        for (let off = 0; off < chunk.length;) off += (await fd.write(chunk, off)).bytesWritten;
      await fd.sync();
    } finally {
      await fd.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw storageError(err, path);
  }
}
