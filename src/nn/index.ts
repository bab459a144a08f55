// Neural-network building blocks: modules, layers, attention, optimizers, EMA and safetensors IO.
export { Module } from "./module.js";
export {
  Linear,
  Conv2d,
  ConvTranspose2d,
  GroupNorm,
  LayerNorm,
  Embedding,
  Dropout,
  type Conv2dOptions,
} from "./layers.js";
export { SelfAttention, CausalSelfAttention, type KVCache, emptyCache, disposeCache } from "./attention.js";
export { Adam, AdamW, type AdamOptions, clipGradNorm, warmupCosine, warmupConstant } from "./optim.js";
export { Ema } from "./ema.js";
export { BatchNorm2d, withoutBatchCounters } from "./batch-norm.js";
export * as init from "./init.js";
export {
  saveSafetensors,
  loadSafetensors,
  readCheckpointFile,
  encodeSafetensors,
  decodeSafetensors,
  saveModule,
  loadModule,
  type Metadata,
} from "./safetensors.js";
