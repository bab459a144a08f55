// Reading a trained run back: `import { openRun, sampleVideos } from "lastframe/run"`.
//
//   const run = await openRun("runs/a");   // config and model (EMA weights, or the selected best) of a trained run
//   const { frames, shape } = sampleVideos(run, 16, { temperature: 0.8 });
//   closeRun(run);
export {
  type Run,
  type MetricRecord,
  type SampleOptions,
  openRun,
  closeRun,
  evaluateRun,
  readMetrics,
  sampleVideos,
  testVideos,
} from "./run.js";
