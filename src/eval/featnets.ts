// Feature networks that lastframe trains itself, so that distribution metrics (FD, KID, precision/recall) work
// offline where Inception's weights cannot be downloaded. One classifier per data set: a LeNet-style net for
// MNIST and Fashion-MNIST, a small ResNet (He et al. 2016, CIFAR variant) for CIFAR-10. The feature space is
// the penultimate layer. Numbers measured in these spaces compare lastframe models with each other only: they
// are not comparable with published FIDs.
import { BatchNorm2d, Conv2d, Linear, Module } from "../nn/index.js";
import { type Tensor, affineGrid, fromTyped, gridSample, interpolate, maxPool2d } from "../tensor/index.js";

export interface FeatNetConfig {
  arch: "lenet" | "resnet";
  /** Input channels and size; images of another shape are converted (grey↔RGB, bilinear resize). */
  channels: 1 | 3;
  size: number;
  classes: number;
  /** LeNet: the two convs' channels. ResNet: the stem's channels, then one stride-2 block per entry. */
  widths: number[];
  /** LeNet's hidden layer: the feature dimensions (ResNet's are its last width). */
  hidden: number;
  epochs: number;
  batch: number;
  lr: number;
  weightDecay: number;
  /** Random translations by up to 4 pixels and horizontal flips while training. */
  augment: boolean;
  /** Test accuracy the trained net must reach: `lastframe featnet` fails below it. */
  minAccuracy: number;
  seed: number;
}

const defaults: FeatNetConfig = {
  arch: "lenet",
  channels: 1,
  size: 28,
  classes: 10,
  widths: [8, 16],
  hidden: 128,
  epochs: 2,
  batch: 128,
  lr: 2e-3,
  weightDecay: 5e-4,
  augment: false,
  minAccuracy: 0.98,
  seed: 0,
};

/** Feature nets by data set name. */
export const featnetConfigs = {
  mnist: { ...defaults, minAccuracy: 0.98 },
  "fashion-mnist": { ...defaults, epochs: 3, minAccuracy: 0.86 },
  cifar10: {
    ...defaults,
    arch: "resnet",
    channels: 3,
    size: 32,
    widths: [16, 32, 64],
    // 5 epochs gave 69.6 % test accuracy, 15 give 76.7 % (10 min on one core): a space that tells CIFAR's
    // classes apart better is worth the one-off cost, and the pinned net (featnets/cifar10) was trained so.
    epochs: 15,
    augment: true,
    minAccuracy: 0.75,
  },
  tiny: { ...defaults, epochs: 1, widths: [4, 8], hidden: 16, minAccuracy: 0 }, // tests
} satisfies Record<string, FeatNetConfig>;

// ***** LeNet (MNIST, Fashion-MNIST) *****

/** Two 5×5 conv + max-pool stages and a hidden layer whose activations are the features. */
export class LeNet extends Module {
  c1: Conv2d;
  c2: Conv2d;
  fc: Linear;
  out: Linear;
  constructor(cfg: FeatNetConfig) {
    super();
    const [w1, w2] = cfg.widths as [number, number];
    this.c1 = new Conv2d(cfg.channels, w1, 5);
    this.c2 = new Conv2d(w1, w2, 5);
    const side = ((cfg.size - 4) / 2 - 4) / 2;
    this.fc = new Linear(w2 * side * side, cfg.hidden);
    this.out = new Linear(cfg.hidden, cfg.classes);
  }
  features(x: Tensor): Tensor {
    let h = maxPool2d(this.c1.forward(x).relu(), 2); // (B, w1, 12, 12)
    h = maxPool2d(this.c2.forward(h).relu(), 2); // (B, w2, 4, 4)
    return this.fc.forward(h.flatten(1)).relu(); // (B, hidden)
  }
  forward(x: Tensor): Tensor {
    return this.out.forward(this.features(x));
  }
}

// ***** ResNet (CIFAR-10) *****

/** Two 3×3 convs with batch norm and a shortcut (a 1×1 projection where the shape changes). */
class BasicBlock extends Module {
  c1: Conv2d;
  n1: BatchNorm2d;
  c2: Conv2d;
  n2: BatchNorm2d;
  skip: Conv2d | null;
  constructor(cin: number, cout: number, stride: number) {
    super();
    this.c1 = new Conv2d(cin, cout, 3, { stride, padding: 1, bias: false });
    this.n1 = new BatchNorm2d(cout);
    this.c2 = new Conv2d(cout, cout, 3, { padding: 1, bias: false });
    this.n2 = new BatchNorm2d(cout);
    this.skip = stride !== 1 || cin !== cout ? new Conv2d(cin, cout, 1, { stride, bias: false }) : null;
  }
  forward(x: Tensor): Tensor {
    const h = this.n2.forward(this.c2.forward(this.n1.forward(this.c1.forward(x)).relu()));
    return h.add(this.skip ? this.skip.forward(x) : x).relu();
  }
}

/**
 * A 3×3 stem and a 2×2 max pool, then one stride-2 basic block per further width: on 32×32 inputs,
 * widths [24, 48, 96] run at 32, 16, 8 and 4 pixels. Kept small so that it trains in minutes on two cores.
 */
export class ResNet extends Module {
  stem: Conv2d;
  norm: BatchNorm2d;
  blocks: BasicBlock[];
  out: Linear;
  constructor(cfg: FeatNetConfig) {
    super();
    const w = cfg.widths;
    this.stem = new Conv2d(cfg.channels, w[0]!, 3, { padding: 1, bias: false });
    this.norm = new BatchNorm2d(w[0]!);
    this.blocks = w.slice(1).map((cout, i) => new BasicBlock(w[i]!, cout, 2));
    this.out = new Linear(w[w.length - 1]!, cfg.classes);
  }
  features(x: Tensor): Tensor {
    let h = maxPool2d(this.norm.forward(this.stem.forward(x)).relu(), 2); // (B, w0, 16, 16)
    for (const b of this.blocks) h = b.forward(h); // → (B, wLast, 4, 4)
    return h.mean([2, 3]); // (B, wLast)
  }
  forward(x: Tensor): Tensor {
    return this.out.forward(this.features(x));
  }
}

export type FeatNet = LeNet | ResNet;

export function createFeatNet(cfg: FeatNetConfig): FeatNet {
  return cfg.arch === "lenet" ? new LeNet(cfg) : new ResNet(cfg);
}

export function featureDims(cfg: FeatNetConfig): number {
  return cfg.arch === "lenet" ? cfg.hidden : cfg.widths[cfg.widths.length - 1]!;
}

/**
 * The net's input from uint8 images (B, C, H, W) of any size and 1 or 3 channels: grey↔RGB (mean of the
 * channels), bilinear resize to the net's size, pixels to [-1, 1] as lastframe's models see them.
 */
export function featnetInput(images: Tensor, cfg: FeatNetConfig): Tensor {
  let x = images.float().div(127.5).sub(1);
  if (x.size(1) !== cfg.channels) x = cfg.channels === 1 ? x.mean(1, true) : x.expand(-1, 3, -1, -1);
  if (x.size(2) !== cfg.size || x.size(3) !== cfg.size)
    x = interpolate(x, { size: [cfg.size, cfg.size], mode: "bilinear", alignCorners: false });
  return x;
}

/**
 * Training augmentation on a batch (B, C, H, W): a random integer translation by up to 4 pixels (zero fill)
 * and a random horizontal flip per image, as one batched affine resampling with nearest neighbours.
 */
export function augmentBatch(x: Tensor, rng: () => number): Tensor {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  const theta = new Float32Array(b * 6);
  for (let i = 0; i < b; i++) {
    const flip = rng() < 0.5 ? -1 : 1;
    const dx = Math.floor(rng() * 9) - 4,
      dy = Math.floor(rng() * 9) - 4;
    // Normalised coordinates span 2 units over w pixels, so a shift of d pixels is 2d/w.
    theta.set([flip, 0, (2 * dx) / w, 0, 1, (2 * dy) / h], i * 6);
  }
  const grid = affineGrid(fromTyped(theta, [b, 2, 3]), [b, c, h, w], false);
  return gridSample(x, grid, { mode: "nearest", padding: "zeros", alignCorners: false });
}
