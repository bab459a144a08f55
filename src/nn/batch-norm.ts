// BatchNorm2d with torch.nn's parameter and buffer names (weight, bias, running_mean, running_var), so PyTorch
// state dicts load one-to-one. In training mode libtorch updates the running statistics in place.
import { type Tensor, batchNorm, ones, zeros } from "../tensor/index.js";
import { Module } from "./module.js";

export class BatchNorm2d extends Module {
  weight: Tensor;
  bias: Tensor;
  running_mean: Tensor;
  running_var: Tensor;
  constructor(
    channels: number,
    readonly eps = 1e-5,
    readonly momentum = 0.1,
  ) {
    super();
    this.weight = this.param(ones([channels]));
    this.bias = this.param(zeros([channels]));
    this.running_mean = this.buffer(zeros([channels]));
    this.running_var = this.buffer(ones([channels]));
  }
  forward(x: Tensor): Tensor {
    return batchNorm(x, this.running_mean, this.running_var, {
      weight: this.weight,
      bias: this.bias,
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}

/** PyTorch saves a step counter with every BatchNorm; lastframe does not use it. */
export function withoutBatchCounters(state: Map<string, Tensor>): Map<string, Tensor> {
  return new Map([...state].filter(([k]) => !k.endsWith(".num_batches_tracked")));
}
