// Standard layers with torch.nn's parameter names, shapes and default initialisations, so state dicts map
// one-to-one onto PyTorch's.
import {
  type Tensor,
  conv2d,
  convTranspose2d,
  dropout,
  embedding,
  empty,
  expected,
  groupNorm,
  layerNorm,
  linear,
  ones,
  randn,
  zeros,
} from "../tensor/index.js";
import { isPositiveInt } from "../errors.js";
import { defaultWeight_, fanIn } from "./init.js";
import { Module } from "./module.js";

function positive(layer: string, name: string, v: unknown): number {
  if (!isPositiveInt(v)) throw expected("positive integer", `${name} in ${layer}`, v);
  return v;
}

export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean } = {},
  ) {
    super();
    positive("Linear", "inFeatures", inFeatures);
    positive("Linear", "outFeatures", outFeatures);
    this.weight = this.param(defaultWeight_(empty([outFeatures, inFeatures]), inFeatures));
    this.bias = opts.bias === false ? null : this.param(defaultWeight_(empty([outFeatures]), inFeatures));
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly opts: Required<Omit<Conv2dOptions, "bias">>;
  constructor(inChannels: number, outChannels: number, kernel: number, opts: Conv2dOptions = {}) {
    super();
    positive("Conv2d", "inChannels", inChannels);
    positive("Conv2d", "outChannels", outChannels);
    positive("Conv2d", "kernel", kernel);
    const groups = opts.groups ?? 1;
    if (inChannels % groups || outChannels % groups)
      throw expected(`a divisor of ${inChannels} and ${outChannels}`, "groups in Conv2d", groups);
    this.opts = {
      stride: opts.stride ?? 1,
      padding: opts.padding ?? 0,
      dilation: opts.dilation ?? 1,
      groups,
    };
    const shape = [outChannels, inChannels / groups, kernel, kernel];
    this.weight = this.param(defaultWeight_(empty(shape), fanIn(shape)));
    this.bias = opts.bias === false ? null : this.param(defaultWeight_(empty([outChannels]), fanIn(shape)));
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.opts);
  }
}

export class ConvTranspose2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly opts: Required<Omit<Conv2dOptions, "bias">> & { outputPadding: number };
  constructor(
    inChannels: number,
    outChannels: number,
    kernel: number,
    opts: Conv2dOptions & { outputPadding?: number } = {},
  ) {
    super();
    positive("ConvTranspose2d", "inChannels", inChannels);
    positive("ConvTranspose2d", "outChannels", outChannels);
    positive("ConvTranspose2d", "kernel", kernel);
    const groups = opts.groups ?? 1;
    this.opts = {
      stride: opts.stride ?? 1,
      padding: opts.padding ?? 0,
      dilation: opts.dilation ?? 1,
      groups,
      outputPadding: opts.outputPadding ?? 0,
    };
    // PyTorch's weight layout for transposed convs is (in, out/groups, k, k); its fan_in is taken from dim 1.
    const shape = [inChannels, outChannels / groups, kernel, kernel];
    this.weight = this.param(defaultWeight_(empty(shape), fanIn(shape)));
    this.bias = opts.bias === false ? null : this.param(defaultWeight_(empty([outChannels]), fanIn(shape)));
  }
  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, this.opts);
  }
}

export class GroupNorm extends Module {
  weight: Tensor;
  bias: Tensor;
  constructor(
    readonly groups: number,
    channels: number,
    readonly eps = 1e-5,
  ) {
    super();
    positive("GroupNorm", "groups", groups);
    if (!isPositiveInt(channels) || channels % groups)
      throw expected(`a positive multiple of ${groups}`, "channels in GroupNorm", channels);
    this.weight = this.param(ones([channels]));
    this.bias = this.param(zeros([channels]));
  }
  forward(x: Tensor): Tensor {
    return groupNorm(x, this.groups, this.weight, this.bias, this.eps);
  }
}

export class LayerNorm extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly eps: number;
  constructor(
    readonly dim: number,
    opts: { eps?: number; bias?: boolean } = {},
  ) {
    super();
    positive("LayerNorm", "dim", dim);
    this.eps = opts.eps ?? 1e-5;
    this.weight = this.param(ones([dim]));
    this.bias = opts.bias === false ? null : this.param(zeros([dim]));
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, [this.dim], this.weight, this.bias, this.eps);
  }
}

export class Embedding extends Module {
  weight: Tensor;
  constructor(
    readonly count: number,
    readonly dim: number,
  ) {
    super();
    positive("Embedding", "count", count);
    positive("Embedding", "dim", dim);
    this.weight = this.param(randn([count, dim]));
  }
  forward(indices: Tensor): Tensor {
    return embedding(this.weight, indices);
  }
}

export class Dropout extends Module {
  constructor(readonly p: number) {
    super();
    if (!(p >= 0 && p < 1)) throw expected("a number in [0, 1)", "p in Dropout", p);
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
}
