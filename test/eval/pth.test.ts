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
import { makePth, makeZip, op, statePickle, tensorRef } from "./pth-build.js";
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
  const data = Buffer.from("lastframe ".repeat(20));
  const zip = makeZip([{ name: "a.txt", data, deflate: true }]);
  const entries = readZipDirectory(zip, "hand.zip");
  assert.equal(zipEntryData(zip, entries.get("a.txt")!, "hand.zip", 1000).toString(), data.toString());
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

/** Asserts that decoding `buf` throws a one-line CheckpointError naming the file and matching `why`. */
function refused(buf: Buffer, why: RegExp): void {
  const live = T.liveTensors();
  assert.throws(
    () => decodeStateDict(buf, "bad.pth"),
    (e: Error) => {
      assert.ok(e instanceof T.CheckpointError, String(e.stack));
      assert.match(e.message, /^bad\.pth\b/);
      assert.doesNotMatch(e.message, /\n/);
      assert.match(e.message, why);
      return true;
    },
  );
  assert.equal(T.liveTensors(), live, "tensors leaked");
}

const floats = (n: number) => Buffer.from(new Float32Array(n).buffer);
const ints = (...xs: number[]) => xs.map(op.int);

test("malformed pickles are one-line CheckpointErrors: a dict that contains itself, deep nesting", () => {
  // d = {}; d["self"] = d
  const loop = Buffer.from([
    ...op.proto(),
    ...op.emptyDict(),
    ...op.put(0),
    ...op.str("self"),
    ...op.get(0),
    ...op.setitem(),
    ...op.stop(),
  ]);
  refused(makePth(loop), /contains itself at self/);
  // {"a": {"a": ... {} ...}} nested 100,000 deep.
  const depth = 100_000;
  const nest: number[] = [...op.proto()];
  for (let i = 0; i < depth; i++) nest.push(...op.emptyDict(), ...op.str("a"));
  nest.push(...op.emptyDict());
  for (let i = 0; i < depth; i++) nest.push(...op.setitem());
  nest.push(...op.stop());
  refused(makePth(Buffer.from(nest)), /nested deeper than 64 levels/);
});

test("malformed tensor records are one-line CheckpointErrors: storage class, size, stride, offset, numel", () => {
  const one = (t: Parameters<typeof tensorRef>[0], storage = floats(4)) =>
    makePth(statePickle([["w", tensorRef(t)]]), { "0": storage });
  refused(
    one({ storageClass: ["collections", "OrderedDict"], numel: 4, size: ints(4), stride: ints(1) }),
    /expected a torch storage class for the storage of w but received collections\.OrderedDict/,
  );
  refused(
    one({ numel: 4, size: [op.float(1.5), ...ints(2)], stride: ints(2, 1) }),
    /expected a tuple of non-negative integers for the size of w but received \[1\.5,2\]/,
  );
  refused(one({ numel: 4, size: [op.str("4")], stride: ints(1) }), /for the size of w but received \["4"\]/);
  refused(
    one({ numel: 4, size: ints(2, 2), stride: ints(1) }),
    /expected a tuple of 2 non-negative integers for the stride of w but received \[1\]/,
  );
  refused(
    one({ numel: 4, size: ints(2), stride: ints(1), offset: -1 }),
    /for the storage offset of w but received -1/,
  );
  refused(
    one({ numel: -4, size: ints(2), stride: ints(1) }),
    /for the element count of the storage of w but received -4/,
  );
  refused(one({ numel: 4, size: ints(3), stride: ints(2) }), /w reaches past the end of its storage/);
  refused(one({ numel: 4, size: ints(8), stride: ints(1) }), /w is a view of 8 elements over a storage of 4/);
});

test("sizes are bounded by what the file holds before anything is allocated", () => {
  // A 1-element storage viewed 50 M times by stride 0 (the issue's 485-byte file had 250 M).
  refused(
    makePth(statePickle([["w", tensorRef({ numel: 1, size: ints(50_000_000), stride: ints(0) })]]), {
      "0": floats(1),
    }),
    /w is a view of 50000000 elements over a storage of 1/,
  );
  // A data.pkl declaring 100 bytes that inflates to 64 MiB stops inflating at the declared size.
  const pkl = Buffer.concat([statePickle([]), Buffer.alloc(64 << 20)]);
  const zip = makeZip([{ name: "archive/data.pkl", data: pkl, deflate: true, declaredSize: 100 }]);
  assert.ok(zip.length < 100_000);
  refused(zip, /zip entry archive\/data\.pkl: it inflates to more than its declared 100 bytes/);
  // Declared sizes beyond what the caller can use, or beyond what deflate can expand the stored bytes to, are
  // refused before inflating.
  const declaring = (size: number) =>
    makeZip([{ name: "archive/data.pkl", data: statePickle([]), deflate: true, declaredSize: size }]);
  refused(
    declaring(2 ** 30),
    /zip entry archive\/data\.pkl: it declares 1073741824 bytes, more than the 67108864 it may hold/,
  );
  refused(declaring(2 ** 20), /it declares 1048576 bytes, more than its \d+ compressed bytes can inflate to/);
});

test("unpickle: a huge APPENDS and an over-long LONG4 are handled without a RangeError or a long stall", () => {
  const n = 300_000;
  const list = [0x80, 2, 0x5d, 0x28, ...Array.from({ length: n }, () => [0x4b, 7]).flat(), 0x65, 0x2e];
  assert.equal((unpickle(Uint8Array.from(list), { globals: {}, source: "big" }).value as number[]).length, n);
  const long4 = Buffer.alloc(2 + 5 + 1_000_000 + 1);
  long4.set([0x80, 2, 0x8b], 0);
  long4.writeUInt32LE(1_000_000, 3);
  long4[long4.length - 1] = 0x2e;
  assert.throws(
    () => unpickle(long4, { globals: {}, source: "long" }),
    /^CheckpointError: long: cannot read pickle at byte 2: an integer of 1000000 bytes is longer than 64$/,
  );
});
