// Training runs: `import { train, openRun } from "lastframe/train"`.
//
//   const { dir } = await train({ model: "hvae", preset: "tiny", data: "mnist", spec: "expressive" }, "runs/a");
//   const run = await openRun(dir);   // config, model (EMA weights) and metrics of a trained run
export { train, TrainingError, type TrainOptions, type TrainResult } from "./loop.js";
export { type RunInput, type RunConfig, resolveRunConfig, readConfigFile } from "./config.js";
export {
  type Run,
  type MetricRecord,
  type SampleOptions,
  openRun,
  closeRun,
  readMetrics,
  sampleVideos,
} from "./run-dir.js";
