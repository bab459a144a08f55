// lastframe's package entry: `import { tidy, randn, Module, Linear, AdamW } from "lastframe"`. The tensor and
// nn surfaces are here in full; the upper layers have their own entry points, which this file also offers as
// namespaces: `lastframe/video` (video), `lastframe/models` (models), `lastframe/train` (training), `lastframe/run` (runs) and
// `lastframe/eval` (evaluation; `eval` itself cannot be an import binding in a module).
export * from "./tensor/index.js";
export * from "./nn/index.js";
export * as video from "./video/index.js";
export * as models from "./models/index.js";
export * as training from "./train/index.js";
export * as runs from "./run/index.js";
export * as evaluation from "./eval/index.js";
