// Pseudo videos: images as the last frame of videos whose earlier frames are corruptions of them.
//
//   import { parseSpec, makeVideos } from "./video/index.js";
//   const spec = parseSpec("expressive", 8);        // a preset, a .json path or an object (spec.ts)
//   const videos = makeVideos(images, spec);        // (B, C, H, W) in [-1, 1] → (B, 8, C, H, W), last frame = images
export {
  type VideoSpec,
  type Term,
  type OpTerm,
  type MixTerm,
  type Velocity,
  type DrawMode,
  type Order,
} from "./spec.js";
export {
  type SpecInput,
  type OpInput,
  type MixInput,
  type StrengthInput,
  parseSpec,
  presetNames,
} from "./spec.js";
export { makeVideos } from "./pseudo.js";
export {
  type Operator,
  type OperatorName,
  type Params,
  operators,
  operatorNames,
  corrupt,
} from "./operators.js";
export {
  type FrameStats,
  type SpecMetrics,
  type HigherOrderGain,
  psnr,
  ssim,
  higherOrderGain,
  measureSpec,
} from "./metrics.js";
