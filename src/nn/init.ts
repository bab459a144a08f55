// PyTorch's default initialisations, so a freshly built lastframe layer matches torch.nn statistically.
import { type Tensor, noGrad } from "../tensor/index.js";

/** fan_in of a weight: in_features for linear (out, in), in_channels·k·k for conv (out, in, k, k). */
export function fanIn(weightShape: number[]): number {
  return weightShape.slice(1).reduce((a, b) => a * b, 1);
}

export function uniform_(t: Tensor, bound: number): Tensor {
  noGrad(() => t.uniform_(-bound, bound));
  return t;
}
export function normal_(t: Tensor, std: number, mean = 0): Tensor {
  noGrad(() => t.normal_(mean, std));
  return t;
}
export function zeros_(t: Tensor): Tensor {
  noGrad(() => t.zero_());
  return t;
}
export function ones_(t: Tensor): Tensor {
  noGrad(() => t.fill_(1));
  return t;
}

/** kaiming_uniform_(a=√5), torch.nn's default for Linear and Conv weights: bound = 1/√fan_in. */
export function defaultWeight_(t: Tensor, fan: number): Tensor {
  return uniform_(t, 1 / Math.sqrt(fan));
}
