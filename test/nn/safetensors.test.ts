// safetensors: round trips, a file from an independent (Python) writer, our files read by Python, and
// every kind of damage rejected with the file's name.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import * as T from "../../src/tensor/index.js";
import {
  Conv2d,
  Linear,
  Module,
  encodeSafetensors,
  loadModule,
  loadSafetensors,
  saveModule,
  saveSafetensors,
} from "../../src/nn/index.js";

const dir = mkdtempSync(join(tmpdir(), "lastframe-st-"));
const PYTHON = "/usr/bin/python3";

test("tensors of every dtype round-trip bit-exactly", () => {
  const tensors = new Map<string, T.Tensor>([
    ["a.f32", T.randn([2, 3])],
    ["b.f64", T.tensor([Math.PI, -0], undefined, { dtype: "float64" })],
    ["c.i64", T.arange(-2, 3)],
    ["d.u8", T.tensor([0, 255], undefined, { dtype: "uint8" })],
    ["e.f16", T.tensor([0.5, 1024], undefined, { dtype: "float16" })],
    ["f.bool", T.tensor([1, 0], undefined, { dtype: "bool" })],
    ["g.scalar", T.scalar(7)],
  ]);
  const path = join(dir, "all.safetensors");
  saveSafetensors(path, tensors, { note: "hi" });
  const { tensors: back, metadata } = loadSafetensors(path);
  assert.deepEqual(metadata, { note: "hi" });
  for (const [k, t] of tensors) {
    const b = back.get(k)!;
    assert.equal(b.dtype, t.dtype, k);
    assert.deepEqual(b.shape, t.shape, k);
    assert.deepEqual(Array.from(b.data() as ArrayLike<number>), Array.from(t.data() as ArrayLike<number>), k);
  }
});

test("reads a file written by an independent Python writer", () => {
  const { tensors, metadata } = loadSafetensors(
    fileURLToPath(new URL("../../../test/fixtures/nn/reference.safetensors", import.meta.url)),
  );
  assert.equal(metadata.format, "pt");
  assert.deepEqual(tensors.get("ints.i64")!.toArray(), [-3, -2, -1, 0, 1, 2]);
  assert.deepEqual(tensors.get("ints.u8")!.toArray(), [0, 7, 255]);
  assert.deepEqual(tensors.get("f64")!.toArray(), [1e-300, 2.5]);
  assert.deepEqual(tensors.get("conv.weight")!.shape, [6, 2, 3, 3]);
});

test("Python (torch.frombuffer on the documented layout) reads our files", () => {
  assert.ok(existsSync(PYTHON), `${PYTHON} with torch is needed (apt-get install python3-torch)`);
  const path = join(dir, "py.safetensors");
  saveSafetensors(
    path,
    new Map([
      [
        "w",
        T.tensor([
          [1, 2],
          [3, 4],
        ]),
      ],
      ["n", T.arange(3)],
    ]),
    { format: "pt" },
  );
  const script = `
import json, struct, sys, torch
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
dt = {"F32": torch.float32, "I64": torch.int64}
out = {}
for k, e in h.items():
    if k == "__metadata__": continue
    s, t = e["data_offsets"]
    out[k] = torch.frombuffer(bytearray(b[8 + n + s:8 + n + t]), dtype=dt[e["dtype"]]).reshape(e["shape"]).tolist()
print(json.dumps(out))`;
  const out = JSON.parse(execFileSync(PYTHON, ["-c", script, path]).toString());
  assert.deepEqual(out, {
    n: [0, 1, 2],
    w: [
      [1, 2],
      [3, 4],
    ],
  });
});

class Net extends Module {
  conv = new Conv2d(1, 2, 3);
  heads = [new Linear(2, 2), new Linear(2, 1, { bias: false })];
}

test("modules save and load by state-dict name, with a JSON config beside", () => {
  const a = new Net(),
    b = new Net();
  assert.deepEqual(
    [...a.stateDict().keys()],
    ["conv.weight", "conv.bias", "heads.0.weight", "heads.0.bias", "heads.1.weight"],
  );
  const path = join(dir, "net.safetensors");
  saveModule(path, a, { width: 2 });
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "net.json"), "utf8")), { width: 2 });
  loadModule(path, b);
  for (const [k, t] of a.stateDict()) assert.deepEqual(b.stateDict().get(k)!.toArray(), t.toArray(), k);
});

test("damaged or mismatched files are rejected naming the file", () => {
  const good = encodeSafetensors(new Map([["x", T.ones([4])]]));
  const path = join(dir, "bad.safetensors");
  writeFileSync(path, good.subarray(0, good.length - 3));
  assert.throws(() => loadSafetensors(path), {
    name: "CheckpointError",
    message: `${path} is not a valid safetensors file: the tensors cover 16 bytes but the data area has 13 (truncated?)`,
  });
  writeFileSync(path, good.subarray(0, 5));
  assert.throws(() => loadSafetensors(path), {
    message: `${path} is not a valid safetensors file: it has 5 bytes, fewer than the 8-byte header length`,
  });
  const badJson = Buffer.from(good);
  badJson[9] = 0x7b;
  writeFileSync(path, badJson);
  assert.throws(() => loadSafetensors(path), {
    message: `${path} is not a valid safetensors file: the header is not valid JSON`,
  });
  assert.throws(() => loadSafetensors(join(dir, "missing.safetensors")), {
    message: `cannot read ${join(dir, "missing.safetensors")}: ENOENT`,
  });
  saveSafetensors(path, new Map([["conv.weight", T.ones([2, 1, 2, 2])]]));
  assert.throws(() => loadModule(path, new Net()), {
    name: "CheckpointError",
    message: /^state dict does not match the model in .*: missing conv.bias, heads.0.weight/,
  });
  const a = new Net();
  const state = a.stateDict();
  state.set("conv.bias", T.ones([3]));
  saveSafetensors(path, state);
  assert.throws(() => loadModule(path, new Net()), {
    message: `shape mismatch for conv.bias in ${path}: model has [2], file has [3]`,
  });
});

/** A safetensors file with `header` (any JSON value) as its header and `data` bytes after it. */
function withHeader(header: unknown, data = 0): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([head, json, Buffer.alloc(data)]);
}

test("a readable but malformed header is a CheckpointError naming the file and the field", () => {
  const path = join(dir, "malformed.safetensors");
  const cases: [unknown, number, RegExp][] = [
    [null, 0, /expected a JSON object for the header but received null/],
    [[1, 2], 0, /expected a JSON object for the header but received \[1,2\]/],
    [{ x: 3 }, 0, /expected an object with dtype, shape and data_offsets for tensor x but received 3/],
    [{ x: { dtype: "F32", shape: [1] } }, 4, /for data_offsets of tensor x but received undefined/],
    [{ x: { dtype: "F32", shape: [1], data_offsets: [0, "4"] } }, 4, /for data_offsets of tensor x/],
    [
      { x: { dtype: "F32", shape: [1], data_offsets: [4, 0] } },
      4,
      /for data_offsets of tensor x but received \[4,0\]/,
    ],
    [{ x: { dtype: "F32", shape: "1", data_offsets: [0, 4] } }, 4, /for shape of tensor x but received "1"/],
    [
      { x: { dtype: "F32", shape: [-1, -1], data_offsets: [0, 4] } },
      4,
      /for shape of tensor x but received \[-1,-1\]/,
    ],
    [{ x: { dtype: "F32", shape: [0.5, 2], data_offsets: [0, 4] } }, 4, /for shape of tensor x/],
    [{ x: { dtype: 7, shape: [1], data_offsets: [0, 4] } }, 4, /tensor x has unsupported dtype 7/],
    [{ __metadata__: { a: 1 }, x: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, 4, /__metadata__/],
  ];
  for (const [header, data, message] of cases) {
    writeFileSync(path, withHeader(header, data));
    const live = T.liveTensors();
    assert.throws(
      () => loadSafetensors(path),
      (e: Error) => {
        assert.equal(e.name, "CheckpointError", `${JSON.stringify(header)}: ${e.stack}`);
        assert.ok(e.message.startsWith(`${path} is not a valid safetensors file: `), e.message);
        assert.match(e.message, message);
        return true;
      },
    );
    assert.equal(T.liveTensors(), live, `${JSON.stringify(header)} leaked tensors`);
  }
  // A bad second tensor frees the first one.
  writeFileSync(
    path,
    withHeader(
      {
        a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
        b: { dtype: "F32", shape: [2], data_offsets: [4, 8] },
      },
      8,
    ),
  );
  const live = T.liveTensors();
  assert.throws(() => loadSafetensors(path), /tensor b has 4 bytes but shape \[2\] of F32 needs 8/);
  assert.equal(T.liveTensors(), live);
});
