// Bench cases of evaluation (twins in bench/twins_eval.py): feature extraction from uint8 images, as
// `lastframe eval` runs it, through the MNIST LeNet, the CIFAR-10 ResNet and the FID Inception (random weights:
// the speed does not depend on them). Each step is one batch, preprocessing included; images/s is the number
// to read.
import type { BenchCase } from "../bench/cases.js";
import { type Tensor, noGrad, randint, tidy } from "../tensor/index.js";
import { type FeatNetConfig, createFeatNet, featnetConfigs, featnetInput } from "./featnets.js";
import { FidInception, inceptionInput } from "./inception.js";

function forwardCase(
  name: string,
  description: string,
  batch: number,
  shape: number[],
  make: () => { forward(x: Tensor): Tensor; dispose(): void },
  twin: BenchCase["twin"],
): BenchCase {
  return {
    name,
    description,
    items: batch,
    setup() {
      const net = make();
      const x = randint(0, 256, [batch, ...shape], { dtype: "uint8" });
      return {
        step: () => noGrad(() => tidy(() => void net.forward(x))),
        dispose: () => {
          net.dispose();
          x.dispose();
        },
      };
    },
    twin,
  };
}

function featnetCase(data: "mnist" | "cifar10", batch: number): BenchCase {
  const cfg: FeatNetConfig = featnetConfigs[data];
  return forwardCase(
    `featnet-${cfg.arch}`,
    `${data} feature net (${cfg.arch} ${cfg.widths.join(",")}) features of ${batch} uint8 images ${cfg.channels}×${cfg.size}×${cfg.size}`,
    batch,
    [cfg.channels, cfg.size, cfg.size],
    () => {
      const net = createFeatNet(cfg).eval();
      return { forward: (x) => net.features(featnetInput(x, cfg)), dispose: () => net.dispose() };
    },
    { case: `featnet-${cfg.arch}`, args: { cfg, batch } },
  );
}

const INCEPTION_BATCH = 8;

export const evalBenchCases: BenchCase[] = [
  featnetCase("mnist", 256),
  featnetCase("cifar10", 256),
  forwardCase(
    "inception",
    `FID Inception pool3 + head of ${INCEPTION_BATCH} uint8 images 3×32×32 (bilinear resize to 299×299)`,
    INCEPTION_BATCH,
    [3, 32, 32],
    () => {
      const net = new FidInception();
      return { forward: (x) => net.logits(net.pool3(inceptionInput(x))), dispose: () => net.dispose() };
    },
    { case: "inception", args: { batch: INCEPTION_BATCH } },
  ),
];
