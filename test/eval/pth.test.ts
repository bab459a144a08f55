// Reading torch.save files without Python: both formats against the values PyTorch wrote
// (test/fixtures/eval/make_pth.py), and refusal of anything that would need code to run.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import * as T from "../../src/tensor/index.js";
import { decodeStateDict, loadStateDict } from "../../src/eval/pth.js";
import { unpickle } from "../../src/eval/pickle.js";
import { readZipDirectory, zipEntryData } from "../../src/eval/zip.js";
import { deflateRawSync } from "node:zlib";
import { FID_WEIGHTS_URL, loadFidInception } from "../../src/eval/inception.js";

const fixture = (name: string) =>
  fileURLToPath(new URL(`../../../test/fixtures/eval/${name}`, import.meta.url));
const expected = JSON.parse(readFileSync(fixture("expected.json"), "utf8")) as Record<
  string,
  { shape: number[]; dtype: string; values: (number | boolean)[] }
>;

for (const file of ["state.pth", "state-legacy.pth"]) {
  test(`${file}: every tensor equals what PyTorch saved (dtype, shape, strided views, shared storages)`, () => {
    const sd = loadStateDict(fixture(file));
    try {
      assert.deepEqual([...sd.keys()], Object.keys(expected));
      for (const [name, e] of Object.entries(expected)) {
        const t = sd.get(name)!;
        assert.deepEqual(t.shape, e.shape, `${name} shape`);
        assert.equal(t.dtype, e.dtype === "bool" ? "bool" : e.dtype, `${name} dtype`);
        const got = T.tidy(() => (t.dtype === "float16" ? t.float() : t).toArray());
        assert.deepEqual(got, e.values.map(Number), `${name} values`);
      }
    } finally {
      T.dispose(sd);
    }
  });
}

test("a pickled nn.Module is refused by name, not executed", () => {
  assert.throws(
    () => loadStateDict(fixture("module.pth")),
    (e: Error) =>
      e instanceof T.CheckpointError &&
      /refusing to load Python global torch\.nn\.modules\.linear\.Linear: only plain state dicts of tensors can be read/.test(
        e.message,
      ),
  );
});

test("a pickle that calls os.system is refused before anything runs", () => {
  assert.throws(
    () => loadStateDict(fixture("evil.pth")),
    (e: Error) =>
      e instanceof T.CheckpointError && /refusing to load Python global posix\.system/.test(e.message),
  );
});

test("truncated, foreign and missing files are CheckpointErrors naming the file", () => {
  const buf = readFileSync(fixture("state.pth"));
  assert.throws(
    () => decodeStateDict(buf.subarray(0, buf.length - 30), "cut.pth"),
    /cut\.pth is not a readable zip archive: no end-of-central-directory record \(truncated download\?\)/,
  );
  const legacy = readFileSync(fixture("state-legacy.pth"));
  assert.throws(
    () => decodeStateDict(legacy.subarray(0, legacy.length - 8), "cut-legacy.pth"),
    /cut-legacy\.pth is truncated/,
  );
  assert.throws(
    () => decodeStateDict(Buffer.from("hello world, not a checkpoint"), "notes.txt"),
    /notes\.txt is not a PyTorch checkpoint \(neither a zip archive nor the legacy format's magic number\)$/,
  );
  assert.throws(
    () => loadStateDict("/nonexistent/weights.pth"),
    /cannot read \/nonexistent\/weights\.pth: ENOENT/,
  );
});

test("unpickle reads protocol-4 framing, memo and containers; rejects unknown opcodes with their offset", () => {
  // b'\x80\x04\x95\x19\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01\x8c\x01a\x94G?\xf8\x00\x00\x00\x00\x00\x00h\x01\x88N\x89e.'
  // = pickle.dumps([1, "a", 1.5, "a", True, None, False], protocol=4)
  const bytes = Uint8Array.from([
    0x80, 4, 0x95, 0x19, 0, 0, 0, 0, 0, 0, 0, 0x5d, 0x94, 0x28, 0x4b, 1, 0x8c, 1, 0x61, 0x94, 0x47, 0x3f,
    0xf8, 0, 0, 0, 0, 0, 0, 0x68, 1, 0x88, 0x4e, 0x89, 0x65, 0x2e,
  ]);
  assert.deepEqual(unpickle(bytes, { globals: {}, source: "p4" }).value, [
    1,
    "a",
    1.5,
    "a",
    true,
    null,
    false,
  ]);
  assert.throws(
    () => unpickle(Uint8Array.from([0x80, 2, 0xff]), { globals: {}, source: "bad" }),
    /bad: cannot read pickle at byte 2: unsupported opcode 0xff/,
  );
});

test("the zip reader inflates deflated entries (numpy .npz files use them)", () => {
  // A one-entry archive written by hand: local header, deflated data, central directory, end record.
  const data = Buffer.from("lastframe ".repeat(20));
  const packed = deflateRawSync(data);
  const name = Buffer.from("a.txt");
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(packed.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(packed.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(name.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + name.length, 12);
  end.writeUInt32LE(30 + name.length + packed.length, 16);
  const zip = Buffer.concat([local, name, packed, central, name, end]);
  const entries = readZipDirectory(zip, "hand.zip");
  assert.equal(zipEntryData(zip, entries.get("a.txt")!, "hand.zip").toString(), data.toString());
});

test("loadFidInception says what is wrong with a file that is not the FID Inception", () => {
  assert.throws(
    () => loadFidInception("/nonexistent/pt_inception.pth"),
    (e: Error) =>
      e instanceof T.CheckpointError &&
      e.message ===
        `cannot read Inception weights /nonexistent/pt_inception.pth: ENOENT. Download ${FID_WEIGHTS_URL} on a machine with internet access and pass its path with --inception-weights`,
  );
  assert.throws(
    () => loadFidInception(fixture("torchvision.pth")),
    /torchvision\.pth holds torchvision's ImageNet Inception-v3, not the FID Inception/,
  );
  assert.throws(
    () => loadFidInception(fixture("state.pth")),
    /state\.pth does not hold FID Inception weights: 471 of the network's 472 tensors are missing \(first: Conv2d_1a_3x3\.conv\.weight\), 9 are unexpected \(first: conv\.weight\)/,
  );
});
