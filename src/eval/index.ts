// lastframe's evaluation: pytorch-fid's FID, offline metrics in the space of feature nets lastframe trains
// itself (FD, KID, precision/recall), and the pieces they are made of.
//
//   import { evaluate } from "./eval/index.js";
//   const report = await evaluate("runs/mnist-hvae", { metrics: ["fd", "kid", "pr", "bpd"], n: 10000 });
//   const fid = await evaluate("samples/", { metrics: ["fid"], n: 50000, data: "cifar10", split: "train",
//                                            inceptionWeights: "pt_inception-2015-12-05-6726825d.pth" });
export {
  type EvalOptions,
  type EvalReport,
  type MetricName,
  evaluate,
  metricNames,
  writeReport,
} from "./evaluate.js";
export { type GaussianStats, frechetDistance, gaussianStats, sqrtmPsd, traceSqrtProduct } from "./frechet.js";
export { type KidOptions, type KidResult, kernelInceptionDistance, polynomialMmd } from "./kid.js";
export { type PrecisionRecall, precisionRecall } from "./precision-recall.js";
export {
  FID_WEIGHTS_FILE,
  FID_WEIGHTS_URL,
  FidInception,
  type InceptionWeights,
  inceptionInput,
  loadFidInception,
} from "./inception.js";
export { type FeatNetConfig, type FeatNet, LeNet, ResNet, featnetConfigs, featnetInput } from "./featnets.js";
export {
  type FeatNetInfo,
  type TrainedFeatNet,
  buildFeatNet,
  ensureFeatNet,
  loadFeatNet,
  trainFeatNet,
} from "./featnet-train.js";
export { type Reference, type ReferenceSet, chooseReference, referenceStats } from "./reference.js";
export { type FeatureSpace, featnetSpace, inceptionSpace } from "./spaces.js";
export { type Images, autoBatch, extractFeatures } from "./features.js";
export { decodeStateDict, loadStateDict } from "./pth.js";
export { cacheRoot } from "../data/index.js";
