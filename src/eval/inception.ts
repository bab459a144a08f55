// The Inception-v3 that FID is defined with: TensorFlow's 2015-12-05 graph as ported by pytorch-fid
// (mseitzer/pytorch-fid, inception.py, `fid_inception_v3`). It is torchvision's Inception3 with a 1008-way head
// and three patched block types: every average pool in Inception-A/C/E ignores the zero padding (TensorFlow's
// behaviour), and the pool branch of the last block (Mixed_7c) takes a max instead of an average. Features are
// the 2048-d global average of Mixed_7c ("pool3"). Parameter names equal the checkpoint's keys
// (`Mixed_6b.branch7x7_2.conv.weight`), so pt_inception-2015-12-05-6726825d.pth loads one-to-one.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { BatchNorm2d, Linear, Module, init, withoutBatchCounters } from "../nn/index.js";
import {
  type Tensor,
  CheckpointError,
  avgPool2d,
  cat,
  conv2d,
  dispose,
  empty,
  interpolate,
  maxPool2d,
  tidy,
} from "../tensor/index.js";
import { decodeStateDict } from "./pth.js";

/** pytorch-fid's release asset; its name carries the first 8 hex digits of its sha256. */
export const FID_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth";
export const FID_WEIGHTS_URL = `https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/${FID_WEIGHTS_FILE}`;
const FID_WEIGHTS_SHA256_PREFIX = "6726825d";
const INCEPTION_SIZE = 299;
export const INCEPTION_DIMS = 2048;

type Pair = [number, number];
const pair = (v: number | Pair): Pair => (typeof v === "number" ? [v, v] : v);

// ***** conv + batch norm + relu *****

class Conv extends Module {
  weight: Tensor;
  constructor(cin: number, cout: number, kernel: Pair) {
    super();
    // Real weights are loaded over these; the random init only serves benchmarks and tests.
    this.weight = this.param(
      init.normal_(empty([cout, cin, ...kernel]), Math.sqrt(2 / (cin * kernel[0] * kernel[1]))),
    );
  }
}

/** torchvision's BasicConv2d: a bias-free conv, batch norm with eps 1e-3 (TensorFlow's), relu. */
class BasicConv2d extends Module {
  conv: Conv;
  bn: BatchNorm2d;
  readonly stride: Pair;
  readonly padding: Pair;
  constructor(
    cin: number,
    cout: number,
    kernel: number | Pair,
    o: { stride?: number; padding?: number | Pair } = {},
  ) {
    super();
    this.conv = new Conv(cin, cout, pair(kernel));
    this.bn = new BatchNorm2d(cout, 1e-3);
    this.stride = pair(o.stride ?? 1);
    this.padding = pair(o.padding ?? 0);
  }
  forward(x: Tensor): Tensor {
    return this.bn
      .forward(conv2d(x, this.conv.weight, null, { stride: this.stride, padding: this.padding }))
      .relu();
  }
}

/** TensorFlow's average pool: padded zeros are not counted in the mean. */
const tfAvgPool = (x: Tensor) => avgPool2d(x, 3, { stride: 1, padding: 1, countIncludePad: false });

// ***** the mixed blocks, in network order *****

/** Mixed_5b–5d (35×35): 1×1, 5×5, double 3×3 and pooled branches. */
class InceptionA extends Module {
  branch1x1: BasicConv2d;
  branch5x5_1: BasicConv2d;
  branch5x5_2: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3: BasicConv2d;
  branch_pool: BasicConv2d;
  constructor(cin: number, poolFeatures: number) {
    super();
    this.branch1x1 = new BasicConv2d(cin, 64, 1);
    this.branch5x5_1 = new BasicConv2d(cin, 48, 1);
    this.branch5x5_2 = new BasicConv2d(48, 64, 5, { padding: 2 });
    this.branch3x3dbl_1 = new BasicConv2d(cin, 64, 1);
    this.branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { padding: 1 });
    this.branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { padding: 1 });
    this.branch_pool = new BasicConv2d(cin, poolFeatures, 1);
  }
  forward(x: Tensor): Tensor {
    return cat(
      [
        this.branch1x1.forward(x),
        this.branch5x5_2.forward(this.branch5x5_1.forward(x)),
        this.branch3x3dbl_3.forward(this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x))),
        this.branch_pool.forward(tfAvgPool(x)),
      ],
      1,
    );
  }
}

/** Mixed_6a: 35×35 → 17×17 by strided convs and a max pool (unpatched). */
class InceptionB extends Module {
  branch3x3: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3: BasicConv2d;
  constructor(cin: number) {
    super();
    this.branch3x3 = new BasicConv2d(cin, 384, 3, { stride: 2 });
    this.branch3x3dbl_1 = new BasicConv2d(cin, 64, 1);
    this.branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { padding: 1 });
    this.branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { stride: 2 });
  }
  forward(x: Tensor): Tensor {
    return cat(
      [
        this.branch3x3.forward(x),
        this.branch3x3dbl_3.forward(this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x))),
        maxPool2d(x, 3, { stride: 2 }),
      ],
      1,
    );
  }
}

/** Mixed_6b–6e (17×17): 7×7 convolutions factored into 1×7 and 7×1. */
class InceptionC extends Module {
  branch1x1: BasicConv2d;
  branch7x7_1: BasicConv2d;
  branch7x7_2: BasicConv2d;
  branch7x7_3: BasicConv2d;
  branch7x7dbl_1: BasicConv2d;
  branch7x7dbl_2: BasicConv2d;
  branch7x7dbl_3: BasicConv2d;
  branch7x7dbl_4: BasicConv2d;
  branch7x7dbl_5: BasicConv2d;
  branch_pool: BasicConv2d;
  constructor(cin: number, c7: number) {
    super();
    const row = { padding: [0, 3] as Pair },
      col = { padding: [3, 0] as Pair };
    this.branch1x1 = new BasicConv2d(cin, 192, 1);
    this.branch7x7_1 = new BasicConv2d(cin, c7, 1);
    this.branch7x7_2 = new BasicConv2d(c7, c7, [1, 7], row);
    this.branch7x7_3 = new BasicConv2d(c7, 192, [7, 1], col);
    this.branch7x7dbl_1 = new BasicConv2d(cin, c7, 1);
    this.branch7x7dbl_2 = new BasicConv2d(c7, c7, [7, 1], col);
    this.branch7x7dbl_3 = new BasicConv2d(c7, c7, [1, 7], row);
    this.branch7x7dbl_4 = new BasicConv2d(c7, c7, [7, 1], col);
    this.branch7x7dbl_5 = new BasicConv2d(c7, 192, [1, 7], row);
    this.branch_pool = new BasicConv2d(cin, 192, 1);
  }
  forward(x: Tensor): Tensor {
    let dbl = this.branch7x7dbl_1.forward(x);
    for (const layer of [this.branch7x7dbl_2, this.branch7x7dbl_3, this.branch7x7dbl_4, this.branch7x7dbl_5])
      dbl = layer.forward(dbl);
    return cat(
      [
        this.branch1x1.forward(x),
        this.branch7x7_3.forward(this.branch7x7_2.forward(this.branch7x7_1.forward(x))),
        dbl,
        this.branch_pool.forward(tfAvgPool(x)),
      ],
      1,
    );
  }
}

/** Mixed_7a: 17×17 → 8×8 (unpatched). */
class InceptionD extends Module {
  branch3x3_1: BasicConv2d;
  branch3x3_2: BasicConv2d;
  branch7x7x3_1: BasicConv2d;
  branch7x7x3_2: BasicConv2d;
  branch7x7x3_3: BasicConv2d;
  branch7x7x3_4: BasicConv2d;
  constructor(cin: number) {
    super();
    this.branch3x3_1 = new BasicConv2d(cin, 192, 1);
    this.branch3x3_2 = new BasicConv2d(192, 320, 3, { stride: 2 });
    this.branch7x7x3_1 = new BasicConv2d(cin, 192, 1);
    this.branch7x7x3_2 = new BasicConv2d(192, 192, [1, 7], { padding: [0, 3] });
    this.branch7x7x3_3 = new BasicConv2d(192, 192, [7, 1], { padding: [3, 0] });
    this.branch7x7x3_4 = new BasicConv2d(192, 192, 3, { stride: 2 });
  }
  forward(x: Tensor): Tensor {
    let b = this.branch7x7x3_1.forward(x);
    for (const layer of [this.branch7x7x3_2, this.branch7x7x3_3, this.branch7x7x3_4]) b = layer.forward(b);
    return cat([this.branch3x3_2.forward(this.branch3x3_1.forward(x)), b, maxPool2d(x, 3, { stride: 2 })], 1);
  }
}

/** Mixed_7b/7c (8×8): branches split into parallel 1×3 and 3×1 convs. The FID port pools differently in each. */
class InceptionE extends Module {
  branch1x1: BasicConv2d;
  branch3x3_1: BasicConv2d;
  branch3x3_2a: BasicConv2d;
  branch3x3_2b: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3a: BasicConv2d;
  branch3x3dbl_3b: BasicConv2d;
  branch_pool: BasicConv2d;
  constructor(
    cin: number,
    readonly pool: "avg" | "max",
  ) {
    super();
    const row = { padding: [0, 1] as Pair },
      col = { padding: [1, 0] as Pair };
    this.branch1x1 = new BasicConv2d(cin, 320, 1);
    this.branch3x3_1 = new BasicConv2d(cin, 384, 1);
    this.branch3x3_2a = new BasicConv2d(384, 384, [1, 3], row);
    this.branch3x3_2b = new BasicConv2d(384, 384, [3, 1], col);
    this.branch3x3dbl_1 = new BasicConv2d(cin, 448, 1);
    this.branch3x3dbl_2 = new BasicConv2d(448, 384, 3, { padding: 1 });
    this.branch3x3dbl_3a = new BasicConv2d(384, 384, [1, 3], row);
    this.branch3x3dbl_3b = new BasicConv2d(384, 384, [3, 1], col);
    this.branch_pool = new BasicConv2d(cin, 192, 1);
  }
  forward(x: Tensor): Tensor {
    const b3 = this.branch3x3_1.forward(x);
    const dbl = this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x));
    // pytorch-fid: the last block's max pool is likely a slip in TensorFlow's graph, kept for comparability.
    const pooled = this.pool === "max" ? maxPool2d(x, 3, { stride: 1, padding: 1 }) : tfAvgPool(x);
    return cat(
      [
        this.branch1x1.forward(x),
        this.branch3x3_2a.forward(b3),
        this.branch3x3_2b.forward(b3),
        this.branch3x3dbl_3a.forward(dbl),
        this.branch3x3dbl_3b.forward(dbl),
        this.branch_pool.forward(pooled),
      ],
      1,
    );
  }
}

// ***** the network *****

export class FidInception extends Module {
  Conv2d_1a_3x3 = new BasicConv2d(3, 32, 3, { stride: 2 });
  Conv2d_2a_3x3 = new BasicConv2d(32, 32, 3);
  Conv2d_2b_3x3 = new BasicConv2d(32, 64, 3, { padding: 1 });
  Conv2d_3b_1x1 = new BasicConv2d(64, 80, 1);
  Conv2d_4a_3x3 = new BasicConv2d(80, 192, 3);
  Mixed_5b = new InceptionA(192, 32);
  Mixed_5c = new InceptionA(256, 64);
  Mixed_5d = new InceptionA(288, 64);
  Mixed_6a = new InceptionB(288);
  Mixed_6b = new InceptionC(768, 128);
  Mixed_6c = new InceptionC(768, 160);
  Mixed_6d = new InceptionC(768, 160);
  Mixed_6e = new InceptionC(768, 192);
  Mixed_7a = new InceptionD(768);
  Mixed_7b = new InceptionE(1280, "avg");
  Mixed_7c = new InceptionE(2048, "max");
  /** The 1008-way ImageNet head of the TensorFlow graph: part of the checkpoint, not of FID. */
  fc = new Linear(INCEPTION_DIMS, 1008);

  constructor() {
    super();
    this.eval();
  }

  /** pool3 features (B, 2048) of network inputs (B, 3, 299, 299) in [-1, 1]. */
  pool3(x: Tensor): Tensor {
    const stages: ((h: Tensor) => Tensor)[] = [
      (h) => this.Conv2d_1a_3x3.forward(h), // (B, 32, 149, 149)
      (h) => this.Conv2d_2a_3x3.forward(h), // (B, 32, 147, 147)
      (h) => maxPool2d(this.Conv2d_2b_3x3.forward(h), 3, { stride: 2 }), // (B, 64, 73, 73)
      (h) => maxPool2d(this.Conv2d_4a_3x3.forward(this.Conv2d_3b_1x1.forward(h)), 3, { stride: 2 }), // (B, 192, 35, 35)
      ...[this.Mixed_5b, this.Mixed_5c, this.Mixed_5d, this.Mixed_6a].map((m) => (h: Tensor) => m.forward(h)), // (B, 768, 17, 17)
      ...[this.Mixed_6b, this.Mixed_6c, this.Mixed_6d, this.Mixed_6e].map((m) => (h: Tensor) => m.forward(h)),
      ...[this.Mixed_7a, this.Mixed_7b, this.Mixed_7c].map((m) => (h: Tensor) => m.forward(h)), // (B, 2048, 8, 8)
    ];
    // One scope per stage frees each stage's intermediates at once: the peak stays near one stage's worth.
    let h = x;
    for (const stage of stages) {
      const next = tidy(() => stage(h));
      if (h !== x) h.dispose();
      h = next;
    }
    return h.mean([2, 3]); // (B, 2048)
  }

  /** ImageNet logits (B, 1008) from pool3 features. */
  logits(pool3: Tensor): Tensor {
    return this.fc.forward(pool3);
  }
}

/**
 * pytorch-fid's input pipeline from uint8 images (B, C, H, W) with C = 1 or 3: scale to [0, 1], grey to RGB,
 * bilinear resize to 299×299 (align_corners false, no antialiasing), then to [-1, 1].
 */
export function inceptionInput(images: Tensor): Tensor {
  let x = images.float().div(255);
  if (x.size(1) === 1) x = x.expand(-1, 3, -1, -1);
  x = interpolate(x, { size: [INCEPTION_SIZE, INCEPTION_SIZE], mode: "bilinear", alignCorners: false });
  return x.mul(2).sub(1);
}

export interface InceptionWeights {
  net: FidInception;
  file: string;
  sha256: string;
  /** Whether the file is the standard pytorch-fid release (by its hash), so FIDs compare with published ones. */
  standard: boolean;
}

/** Loads FID Inception weights from a .pth state dict (the pytorch-fid release file, or one in its format). */
export function loadFidInception(file: string): InceptionWeights {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new CheckpointError(
      `cannot read Inception weights ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}. ` +
        `Download ${FID_WEIGHTS_URL} on a machine with internet access and pass its path with --inception-weights`,
    );
  }
  const sha256 = createHash("sha256").update(buf).digest("hex");
  const state = decodeStateDict(buf, file);
  const net = new FidInception();
  try {
    if (state.has("AuxLogits.fc.weight") || state.get("fc.weight")?.size(0) === 1000)
      throw new CheckpointError(
        `${file} holds torchvision's ImageNet Inception-v3, not the FID Inception (TensorFlow's 2015 graph, 1008 classes); ` +
          `use ${FID_WEIGHTS_FILE} from ${FID_WEIGHTS_URL}`,
      );
    const own = new Set(net.stateDict().keys());
    const theirs = withoutBatchCounters(state);
    const missing = [...own].filter((k) => !theirs.has(k));
    const unexpected = [...theirs.keys()].filter((k) => !own.has(k));
    if (missing.length || unexpected.length)
      throw new CheckpointError(
        `${file} does not hold FID Inception weights: ${missing.length} of the network's ${own.size} tensors are missing` +
          (missing.length ? ` (first: ${missing[0]})` : "") +
          `, ${unexpected.length} are unexpected` +
          (unexpected.length ? ` (first: ${unexpected[0]})` : ""),
      );
    net.loadStateDict(theirs, { source: file });
  } catch (err) {
    net.dispose();
    throw err;
  } finally {
    dispose(state);
  }
  return { net, file, sha256, standard: sha256.startsWith(FID_WEIGHTS_SHA256_PREFIX) };
}
