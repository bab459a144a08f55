// The model families: `import { getFamily, HVAE, hvaeFamily } from "lastframe/models"`. A family bundles a
// model class, its named config sets and how to resolve and build it; the registry finds families by name.
export type {
  DataShape,
  LossOutput,
  TrainableModel,
  SampleSettings,
  TrainDefaults,
  ModelFamily,
} from "./model.js";
export { getFamily, familyNames, registerFamily } from "./registry.js";
export { HVAE, type HVAEConfig, hvaeFamily } from "./hvae.js";
export { VQModel, type VQConfig, vqFamily } from "./vq.js";
export { VQVAE, type VQVAEConfig } from "./vqvae.js";
export { CodePrior, type PriorConfig } from "./vq-prior.js";
export { VideoCodePrior } from "./vq-video.js";
export { DDPM, type DDPMConfig, ddpmFamily } from "./ddpm.js";
