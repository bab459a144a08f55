// Feature statistics as numpy .npz files with arrays `mu` and `sigma`: the format pytorch-fid reads and writes
// (`--save-stats`, and the precomputed statistics published for CIFAR-10, CelebA, …). Reading one lets FID use
// published reference statistics; writing one lets pytorch-fid use lastframe's. An .npz is a zip of .npy files:
// "\x93NUMPY", a version, a header length, a Python dict literal (dtype, order, shape), then the raw array.
import { readFileSync } from "node:fs";
import { crc32 } from "node:zlib";
import { CheckpointError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic.js";
import type { GaussianStats } from "./frechet.js";
import { readZipDirectory, zipEntryData } from "./zip.js";

const MAGIC = "\x93NUMPY";
// The largest array worth inflating: sigma of 8,192-dimensional features in float64 is 512 MiB.
const MAX_NPY_BYTES = 2 ** 30;

/** One .npy array as float64, row-major. */
function parseNpy(buf: Buffer, source: string): { shape: number[]; data: Float64Array } {
  const fail = (why: string) => new CheckpointError(`${source} is not a readable .npy array: ${why}`);
  if (buf.length < 10 || buf.toString("latin1", 0, 6) !== MAGIC) throw fail("no \\x93NUMPY magic");
  const major = buf[6]!;
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString("latin1", major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([<>|]?)([fi])(\d)'/.exec(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shapeText) throw fail(`unrecognised header ${JSON.stringify(header.trim())}`);
  const [, order, kind, size] = descr;
  if (order === ">") throw fail("big-endian arrays are not supported");
  if (kind !== "f" || (size !== "4" && size !== "8"))
    throw fail(`dtype ${descr[0]} is not float32 or float64`);
  const shape = shapeText[1]!
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw fail(`its shape (${shapeText[1]}) is not a tuple of non-negative integers`);
  const numel = shape.reduce((a, b) => a * b, 1);
  const bytes = numel * Number(size);
  if (start + bytes > buf.length)
    throw fail(`it needs ${bytes} data bytes but has ${buf.length - start} (truncated?)`);
  const raw = new Uint8Array(buf.subarray(start, start + bytes)); // aligned copy
  let data = Float64Array.from(size === "4" ? new Float32Array(raw.buffer) : new Float64Array(raw.buffer));
  if (/'fortran_order':\s*True/.test(header) && shape.length === 2) {
    // Column-major: transpose into row-major.
    const [r, c] = shape as [number, number];
    const t = new Float64Array(numel);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[i * c + j] = data[j * r + i]!;
    data = t;
  }
  return { shape, data };
}

/** Reads pytorch-fid statistics (mu, sigma) from an .npz file. */
export function readNpzStats(file: string): GaussianStats {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new CheckpointError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const entries = readZipDirectory(buf, file);
  const array = (name: string) => {
    const e = entries.get(`${name}.npy`);
    if (!e)
      throw new CheckpointError(`${file} has no array ${name} (pytorch-fid statistics hold mu and sigma)`);
    return parseNpy(zipEntryData(buf, e, file, MAX_NPY_BYTES), `${file}:${name}.npy`);
  };
  const mu = array("mu"),
    sigma = array("sigma");
  const d = mu.shape[0]!;
  if (mu.shape.length !== 1 || sigma.shape.join() !== `${d},${d}`)
    throw new CheckpointError(
      `${file}: mu has shape (${mu.shape}) and sigma (${sigma.shape}); expected (D) and (D, D)`,
    );
  // pytorch-fid's files do not record the sample count.
  return { n: 0, dims: d, mu: mu.data, sigma: sigma.data };
}

function npy(data: Float64Array, shape: number[]): Buffer {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  // Magic, version, length and header end on a 64-byte boundary, with a newline last.
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const head = Buffer.alloc(10);
  head.write(MAGIC, 0, "latin1");
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([
    head,
    Buffer.from(header, "latin1"),
    Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  ]);
}

/** Writes statistics as an .npz (stored zip entries mu.npy and sigma.npy) that pytorch-fid and numpy read. */
export function writeNpzStats(file: string, stats: GaussianStats): void {
  const files: [string, Buffer][] = [
    ["mu.npy", npy(stats.mu, [stats.dims])],
    ["sigma.npy", npy(stats.sigma, [stats.dims, stats.dims])],
  ];
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nameBytes = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  writeFileAtomic(file, Buffer.concat([...locals, dir, end]));
}
