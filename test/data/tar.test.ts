import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { readTar, DataError, type TarEntry } from "../../src/data/index.js";
import { makeTar, tempDir } from "./helpers.js";

async function all(file: string, want?: (name: string) => boolean): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for await (const e of readTar(file, want)) out.push(e);
  return out;
}

const longDir = `deep/${"x".repeat(120)}`;

function fixture(gzip: boolean): Buffer {
  return makeTar(
    [
      { name: "top", dir: true },
      { name: "top/a.txt", data: "hello" },
      { name: "top/empty.bin", data: "" },
      { name: "top/big.bin", data: Buffer.alloc(70_000, 0xab) },
      { name: `${longDir}/pax.txt`, data: "pax name", longName: "pax" },
      { name: `${longDir}/gnu.txt`, data: "gnu name", longName: "gnu" },
    ],
    gzip,
  );
}

test("readTar: plain and gzip archives, directories, empty files, long names (pax and GNU)", async () => {
  const dir = tempDir("tar");
  for (const gzip of [false, true]) {
    const file = path.join(dir, gzip ? "a.tar.gz" : "a.tar");
    fs.writeFileSync(file, fixture(gzip));
    const entries = await all(file);
    assert.deepEqual(
      entries.map((e) => [e.name, e.type, e.size]),
      [
        ["top", "dir", 0],
        ["top/a.txt", "file", 5],
        ["top/empty.bin", "file", 0],
        ["top/big.bin", "file", 70_000],
        [`${longDir}/pax.txt`, "file", 8],
        [`${longDir}/gnu.txt`, "file", 8],
      ],
    );
    assert.equal(entries[1]!.data!.toString(), "hello");
    assert.ok(entries[3]!.data!.every((b) => b === 0xab));
    assert.equal(entries[4]!.data!.toString(), "pax name");
    assert.equal(entries[5]!.data!.toString(), "gnu name");
    // Unwanted entries are listed without data.
    const some = await all(file, (n) => n.endsWith("a.txt"));
    assert.deepEqual(
      some.filter((e) => e.data !== null).map((e) => e.name),
      ["top/a.txt"],
    );
  }
});

test("readTar: truncated archive and damaged header are DataErrors naming the file", async () => {
  const dir = tempDir("tarbad");
  const raw = fixture(false);
  const cut = path.join(dir, "cut.tar");
  fs.writeFileSync(cut, raw.subarray(0, 512 * 3 + 100));
  await assert.rejects(
    all(cut),
    (e: Error) => e instanceof DataError && /Truncated tar archive .*cut\.tar/.test(e.message),
  );
  const damaged = Buffer.from(raw);
  damaged[512 + 10] ^= 0xff; // inside the second header's name
  const bad = path.join(dir, "bad.tar");
  fs.writeFileSync(bad, damaged);
  await assert.rejects(all(bad), /DataError: Corrupt tar archive .*bad\.tar: a header is damaged/);
  const gzBad = path.join(dir, "bad.tar.gz");
  fs.writeFileSync(gzBad, fixture(true).subarray(0, 60));
  await assert.rejects(all(gzBad), (e: Error) => e instanceof DataError && /bad\.tar\.gz/.test(e.message));
  await assert.rejects(all(path.join(dir, "none.tar")), /Cannot open archive .*none\.tar: no such file/);
});

// Archives written by Python's tarfile in each of its formats (the CIFAR-10 and spoken-digit archives are tarfile
// output): the same names, types, sizes and bytes come back, including long names, a symlink and a pax header.
const PY_TAR = String.raw`
import io, json, sys, tarfile
out, fmt, mode = sys.argv[1], getattr(tarfile, sys.argv[2]), sys.argv[3]
files = {"top/a.txt": b"hello", "top/empty.bin": b"", "top/big.bin": bytes(range(256)) * 300,
         "deep/" + "y" * 150 + "/long.txt": b"long name", "top/\u00e9t\u00e9.txt": b"utf-8 name"}
with tarfile.open(out, mode, format=fmt) as t:
    d = tarfile.TarInfo("top"); d.type = tarfile.DIRTYPE; t.addfile(d)
    for name, data in files.items():
        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
    link = tarfile.TarInfo("top/link"); link.type = tarfile.SYMTYPE; link.linkname = "a.txt"; t.addfile(link)
print(json.dumps({k: v.hex() for k, v in files.items()}))
`;

test("readTar reads archives written by Python's tarfile (GNU, pax, ustar; plain and gzip)", async () => {
  const dir = tempDir("pytar");
  for (const [format, mode] of [
    ["GNU_FORMAT", "w"],
    ["PAX_FORMAT", "w:gz"],
    ["USTAR_FORMAT", "w"],
  ] as const) {
    const file = path.join(dir, `${format}.tar`);
    // ustar cannot hold a 150-character directory name: tarfile refuses, so that format gets short names only.
    const script = format === "USTAR_FORMAT" ? PY_TAR.replace('"y" * 150', '"y" * 20') : PY_TAR;
    const py = spawnSync("python3", ["-c", script, file, format, mode], { encoding: "utf8" });
    assert.equal(py.status, 0, `python3 (needed for this test) failed: ${py.error?.message ?? py.stderr}`);
    const files = JSON.parse(py.stdout) as Record<string, string>;
    const entries = await all(file);
    assert.deepEqual(
      entries.map((e) => [e.name, e.type]),
      [["top", "dir"], ...Object.keys(files).map((n) => [n, "file"]), ["top/link", "other"]],
      format,
    );
    for (const e of entries.filter((x) => x.type === "file")) {
      assert.equal(e.size, files[e.name]!.length / 2, `${format} ${e.name}`);
      assert.equal(e.data!.toString("hex"), files[e.name], `${format} ${e.name}`);
    }
  }
});
