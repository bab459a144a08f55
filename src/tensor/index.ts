// The tensor layer's public surface: `import { Tensor, tidy, zeros, conv2d } from "lastframe/tensor"`.
export { Tensor, type Shape, type TensorLike, type Reduction } from "./tensor.js";
export * from "./ops.js";
export { tidy, keep, dispose, releaseHandles } from "./scope.js";
export { type DType, dtypes, isFloating } from "./dtype.js";
export {
  UserError,
  ArgumentError,
  TorchError,
  CheckpointError,
  DataError,
  StorageError,
  expected,
  check,
} from "../errors.js";
export * as raw from "./ops.gen.js";
export { observeOps } from "./call.js";
