// Atomic file writes: a uniquely named temp file beside the target, fsync, rename. A crash or kill -9 at any
// moment leaves either the old file or the new one, never half of one.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { open, mkdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

function asBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? Buffer.from(data) : data;
}

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPath(path);
  try {
    const fd = openSync(tmp, "wx");
    try {
      const bytes = asBytes(data);
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
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
    throw err;
  }
}
