// A data source is a folder or a tar(.gz) archive seen as a tree of files with '/'-separated relative paths.
// Listing a folder walks it; listing an archive reads it once (decompressing, keeping no file data). Reading a
// set of files hands each one's bytes to a callback; archives deliver them in archive order, folders in the
// given order, so callers must not rely on the order.

import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { DataError } from "../errors.js";
import { readTar } from "./tar.js";

export interface SourceFile {
  rel: string;
  size: number;
}

export interface Source {
  kind: "dir" | "tar";
  /** Absolute path of the folder or archive. */
  path: string;
  /** Cheap identity of the content: size + mtime of the archive, or of every file in the folder. */
  fingerprint(): Promise<string>;
  /** Every regular file, sorted by path; hidden files (a path part starting with ".") are left out. */
  list(): Promise<SourceFile[]>;
  /**
   * Calls `fn` with the bytes of each file in `rels`, at most `concurrency` calls in flight. Rejects with the
   * first error from `fn` after in-flight calls settle, or a DataError when a file is missing.
   */
  readEach(
    rels: readonly string[],
    fn: (rel: string, data: Buffer) => Promise<void>,
    concurrency: number,
  ): Promise<void>;
  /** Human-readable location of a file, for error messages: "<archive>:<rel>" or the absolute path. */
  describe(rel: string): string;
}

const ARCHIVE_RE = /\.(tar\.gz|tgz|tar)$/i;

function isArchivePath(p: string): boolean {
  return ARCHIVE_RE.test(p);
}

function hidden(rel: string): boolean {
  return rel.split("/").some((part) => part.startsWith("."));
}

/**
 * A tiny bounded pool: `run(task)` waits for a free slot and starts the task, resolving to false (without
 * starting it) once any task has failed; `drain()` waits for running tasks and rethrows the first failure.
 */
export class TaskPool {
  private active = 0;
  private waiters: (() => void)[] = [];
  private idle: (() => void)[] = [];
  private failed = false;
  private error: unknown = null;
  constructor(private readonly size: number) {}

  async run(task: () => Promise<void>): Promise<boolean> {
    while (this.active >= this.size && !this.failed) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failed) return false;
    this.active++;
    task()
      .catch((e: unknown) => {
        if (!this.failed) {
          this.failed = true;
          this.error = e;
        }
      })
      .finally(() => {
        this.active--;
        this.waiters.shift()?.();
        if (this.active === 0) for (const r of this.idle.splice(0)) r();
      });
    return true;
  }

  async drain(): Promise<void> {
    while (this.active > 0) await new Promise<void>((r) => this.idle.push(r));
    for (const r of this.waiters.splice(0)) r();
    if (this.failed) throw this.error;
  }
}

class DirSource implements Source {
  readonly kind = "dir";
  private files: Promise<(SourceFile & { mtime: number })[]> | null = null;
  constructor(readonly path: string) {}

  private walk(): Promise<(SourceFile & { mtime: number })[]> {
    this.files ??= (async () => {
      const out: (SourceFile & { mtime: number })[] = [];
      // Each real directory (device + inode) is walked once, under the first path that reaches it in sorted
      // order: a symlink loop would otherwise repeat the tree until the path grows too long.
      const seen = new Set<string>();
      const visit = async (dir: string, rel: string): Promise<void> => {
        const st = await fs.promises.stat(dir, { bigint: true }); // inode numbers can exceed 2^53
        const id = `${st.dev}:${st.ino}`;
        if (seen.has(id)) return;
        seen.add(id);
        const entries = await fs.promises.readdir(dir, { withFileTypes: true });
        entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const e of entries) {
          if (e.name.startsWith(".")) continue;
          const r = rel ? `${rel}/${e.name}` : e.name;
          const full = path.join(dir, e.name);
          if (e.isDirectory()) await visit(full, r);
          else if (e.isFile() || e.isSymbolicLink()) {
            const st = await fs.promises.stat(full).catch(() => null);
            if (st?.isFile()) out.push({ rel: r, size: st.size, mtime: st.mtimeMs });
            else if (st?.isDirectory()) await visit(full, r);
          }
        }
      };
      await visit(this.path, "");
      out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
      return out;
    })();
    return this.files;
  }

  async fingerprint(): Promise<string> {
    const h = crypto.createHash("sha256");
    for (const f of await this.walk()) h.update(`${f.rel}\0${f.size}\0${f.mtime}\n`);
    return `dir:${h.digest("hex").slice(0, 32)}`;
  }

  async list(): Promise<SourceFile[]> {
    return (await this.walk()).map(({ rel, size }) => ({ rel, size }));
  }

  async readEach(
    rels: readonly string[],
    fn: (rel: string, data: Buffer) => Promise<void>,
    concurrency: number,
  ): Promise<void> {
    const pool = new TaskPool(concurrency);
    for (const rel of rels) {
      const started = await pool.run(async () => {
        let data: Buffer;
        try {
          data = await fs.promises.readFile(path.join(this.path, rel));
        } catch (e) {
          throw new DataError(`Cannot read ${this.describe(rel)}: ${(e as Error).message}`, { cause: e });
        }
        await fn(rel, data);
      });
      if (!started) break;
    }
    await pool.drain();
  }

  describe(rel: string): string {
    return path.join(this.path, rel);
  }
}

class TarSource implements Source {
  readonly kind = "tar";
  private files: Promise<SourceFile[]> | null = null;
  constructor(readonly path: string) {}

  async fingerprint(): Promise<string> {
    const st = await fs.promises.stat(this.path);
    return `tar:${st.size}:${st.mtimeMs}`;
  }

  list(): Promise<SourceFile[]> {
    this.files ??= (async () => {
      const out: SourceFile[] = [];
      for await (const e of readTar(this.path, () => false)) {
        if (e.type === "file" && !hidden(e.name)) out.push({ rel: e.name, size: e.size });
      }
      out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
      return out;
    })();
    return this.files;
  }

  async readEach(
    rels: readonly string[],
    fn: (rel: string, data: Buffer) => Promise<void>,
    concurrency: number,
  ): Promise<void> {
    const wanted = new Set(rels);
    const pool = new TaskPool(concurrency);
    try {
      for await (const e of readTar(this.path, (name) => wanted.has(name))) {
        if (e.data === null || !wanted.has(e.name)) continue;
        wanted.delete(e.name);
        const { name, data } = e;
        if (!(await pool.run(() => fn(name, data)))) break;
      }
    } finally {
      await pool.drain().catch(() => undefined); // settle in-flight work even when reading the archive failed
    }
    await pool.drain();
    if (wanted.size > 0) {
      const first = wanted.values().next().value as string;
      throw new DataError(
        `${this.describe(first)} is missing from the archive (${wanted.size} file(s) not found)`,
      );
    }
  }

  describe(rel: string): string {
    return `${this.path}:${rel}`;
  }
}

/** Opens a folder or a .tar/.tar.gz/.tgz archive as a Source; a DataError names a missing or odd path. */
export async function openSource(p: string): Promise<Source> {
  const abs = path.resolve(p);
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(abs);
  } catch {
    throw new DataError(`Data path ${abs} does not exist`);
  }
  if (st.isDirectory()) return new DirSource(abs);
  if (st.isFile() && isArchivePath(abs)) return new TarSource(abs);
  throw new DataError(
    `Data path ${abs} is a file but not a .tar, .tar.gz or .tgz archive; pass a folder or an archive`,
  );
}
