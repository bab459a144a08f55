// Test helpers for the data module: temporary folders and a minimal tar writer for fixtures.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";

/** A fresh temporary folder, removed when the process exits. */
export function tempDir(tag: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lastframe-${tag}-`));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function octal(v: number, len: number): string {
  return v.toString(8).padStart(len - 1, "0") + "\0";
}

function header(name: string, size: number, type: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, "utf8");
  h.write(octal(type === "5" ? 0o755 : 0o644, 8), 100, "latin1");
  h.write(octal(0, 8), 108, "latin1");
  h.write(octal(0, 8), 116, "latin1");
  h.write(octal(size, 12), 124, "latin1");
  h.write(octal(1577836800, 12), 136, "latin1");
  h.write("        ", 148, "latin1");
  h.write(type, 156, "latin1");
  h.write("ustar\0", 257, "latin1");
  h.write("00", 263, "latin1");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + " ", 148, "latin1");
  return h;
}

function pad(b: Buffer): Buffer[] {
  const r = b.length % 512;
  return r ? [b, Buffer.alloc(512 - r)] : [b];
}

export interface TarInput {
  name: string;
  data?: Buffer | string;
  dir?: boolean;
  /** "pax": long name via a pax header; "gnu": via a GNU 'L' entry; default: plain (must fit 100 bytes). */
  longName?: "pax" | "gnu";
}

/** Builds a tar archive (gzip-compressed unless gzip is false). */
export function makeTar(entries: TarInput[], gzip = true): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.dir ? Buffer.alloc(0) : Buffer.from(e.data ?? "");
    let name = e.dir ? `${e.name}/` : e.name;
    if (e.longName === "pax") {
      const rec = (len: number) => `${len} path=${name}\n`;
      let len = rec(0).length;
      while (rec(len).length !== len) len = rec(len).length;
      const body = Buffer.from(rec(len));
      parts.push(header("PaxHeader", body.length, "x"), ...pad(body));
      name = name.slice(-99);
    } else if (e.longName === "gnu") {
      const body = Buffer.from(`${name}\0`);
      parts.push(header("././@LongLink", body.length, "L"), ...pad(body));
      name = name.slice(0, 99);
    }
    parts.push(header(name, data.length, e.dir ? "5" : "0"));
    if (data.length) parts.push(...pad(data));
  }
  parts.push(Buffer.alloc(1024));
  const tar = Buffer.concat(parts);
  return gzip ? zlib.gzipSync(tar) : tar;
}

/** Counts of each label value, as a plain object. */
export function histogram(labels: Int32Array): Record<number, number> {
  const out: Record<number, number> = {};
  for (const v of labels) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** Options that keep tests quiet and their caches private. */
export function quiet(cacheDir?: string): { progress: false; log: (m: string) => void; cacheDir?: string } {
  const opts: { progress: false; log: (m: string) => void; cacheDir?: string } = {
    progress: false,
    log: () => {},
  };
  if (cacheDir) opts.cacheDir = cacheDir;
  return opts;
}
