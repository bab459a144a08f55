// Training runs: `import { train } from "lastframe/train"` (reading one back: lastframe/run).
//
//   const { dir } = await train({ model: "hvae", preset: "tiny", data: "mnist", spec: "expressive" }, "runs/a");
export { train, TrainingError, type TrainOptions, type TrainResult } from "./loop.js";
export { type GradHook, type StepHook, type StepReport } from "./engine.js";
export { type EvalExtra } from "./hooks.js";
export { type RunInput, type RunConfig, resolveRunConfig, readConfigFile } from "./config.js";
export { type MetricRecord, readMetrics } from "./metrics.js";
