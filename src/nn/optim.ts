// Adam and AdamW with PyTorch 1.13's update rule (torch.optim.Adam/AdamW, non-amsgrad, single-tensor path),
// gradient clipping by global norm and learning-rate schedules. State tensors are kept outside scopes and saved with
// stateDict() so a resumed run continues bit-for-bit.
import {
  type Tensor,
  CheckpointError,
  expected,
  keep,
  noGrad,
  raw,
  stack,
  tidy,
  zerosLike,
} from "../tensor/index.js";

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

interface ParamState {
  expAvg: Tensor;
  expAvgSq: Tensor;
}

export class Adam {
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  step = 0;
  #state: (ParamState | null)[];

  /** `decoupled` selects AdamW: weight decay applied to the weights, not added to the gradient. */
  constructor(
    readonly params: Tensor[],
    opts: AdamOptions = {},
    readonly decoupled = false,
  ) {
    this.lr = opts.lr ?? 1e-3;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? (decoupled ? 1e-2 : 0);
    if (!(this.lr >= 0)) throw expected("a non-negative number", "lr", this.lr);
    for (const [i, b] of this.betas.entries())
      if (!(b >= 0 && b < 1)) throw expected("a number in [0, 1)", `betas[${i}]`, b);
    this.#state = params.map(() => null);
  }

  /** Applies one update from the parameters' current gradients (parameters without a gradient are skipped). */
  update(): void {
    this.step++;
    const [b1, b2] = this.betas;
    const bc1 = 1 - b1 ** this.step;
    const bc2Sqrt = Math.sqrt(1 - b2 ** this.step);
    noGrad(() =>
      tidy(() => {
        const ps: Tensor[] = [],
          gs: Tensor[] = [],
          m: Tensor[] = [],
          v: Tensor[] = [];
        this.params.forEach((p, i) => {
          const g = p.grad;
          if (g === null) return;
          const s = (this.#state[i] ??= { expAvg: keep(zerosLike(p)), expAvgSq: keep(zerosLike(p)) });
          ps.push(p);
          gs.push(g);
          m.push(s.expAvg);
          v.push(s.expAvgSq);
        });
        if (ps.length === 0) return;
        // One _foreach_ call per line of the update instead of one call per parameter: the same kernels per
        // tensor, so the numbers match torch.optim.Adam's single-tensor path of PyTorch 1.13.
        let grads = gs;
        if (this.weightDecay !== 0) {
          if (this.decoupled) raw._foreachMul_Scalar(ps, 1 - this.lr * this.weightDecay);
          else grads = raw._foreachAddList(gs, ps, this.weightDecay);
        }
        raw._foreachMul_Scalar(m, b1);
        raw._foreachAdd_List(m, grads, 1 - b1);
        raw._foreachMul_Scalar(v, b2);
        raw._foreachAddcmul_Scalar(v, grads, grads, 1 - b2);
        const denom = raw._foreachSqrt(v);
        raw._foreachDiv_Scalar(denom, bc2Sqrt);
        raw._foreachAdd_Scalar(denom, this.eps);
        raw._foreachAddcdiv_Scalar(ps, m, denom, -this.lr / bc1);
      }),
    );
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** Tensors by name ("0.exp_avg") plus plain hyperparameters, for safetensors + JSON. */
  stateDict(): { tensors: Map<string, Tensor>; meta: { step: number; lr: number } } {
    const tensors = new Map<string, Tensor>();
    this.#state.forEach((s, i) => {
      if (!s) return;
      tensors.set(`${i}.exp_avg`, s.expAvg);
      tensors.set(`${i}.exp_avg_sq`, s.expAvgSq);
    });
    return { tensors, meta: { step: this.step, lr: this.lr } };
  }

  loadStateDict(tensors: Map<string, Tensor>, meta: { step: number; lr: number }): void {
    this.step = meta.step;
    this.lr = meta.lr;
    noGrad(() =>
      this.params.forEach((p, i) => {
        const a = tensors.get(`${i}.exp_avg`),
          b = tensors.get(`${i}.exp_avg_sq`);
        if (!a || !b) {
          if (this.step > 0 && p.requiresGrad && (a || b))
            throw new CheckpointError(`optimizer state for parameter ${i} is incomplete`);
          return;
        }
        if (a.shape.join() !== p.shape.join())
          throw new CheckpointError(
            `optimizer state ${i}.exp_avg has shape [${a.shape}] but the parameter has [${p.shape}]`,
          );
        const s = (this.#state[i] ??= { expAvg: keep(zerosLike(p)), expAvgSq: keep(zerosLike(p)) });
        s.expAvg.copy_(a);
        s.expAvgSq.copy_(b);
      }),
    );
  }

  dispose(): void {
    for (const s of this.#state) {
      s?.expAvg.dispose();
      s?.expAvgSq.dispose();
    }
    this.#state = this.params.map(() => null);
  }
}

export class AdamW extends Adam {
  constructor(params: Tensor[], opts: AdamOptions = {}) {
    super(params, opts, true);
  }
}

/**
 * Scales gradients in place so their global L2 norm is at most maxNorm (torch.nn.utils.clip_grad_norm_).
 * Returns the norm before clipping (Infinity/NaN if any gradient is non-finite: callers skip such steps).
 */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  return noGrad(() =>
    tidy(() => {
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return 0;
      const total = stack(raw._foreachNormScalar(grads)).norm().item();
      const coef = maxNorm / (total + 1e-6);
      if (coef < 1 && Number.isFinite(total)) raw._foreachMul_Scalar(grads, coef);
      return total;
    }),
  );
}

/** Linear warm-up to `lr` over `warmup` steps, then cosine decay to `minLr` at `total` steps. */
export function warmupCosine(o: {
  lr: number;
  warmup: number;
  total: number;
  minLr?: number;
}): (step: number) => number {
  const minLr = o.minLr ?? 0;
  return (step) => {
    if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
    if (step >= o.total) return minLr;
    const progress = (step - o.warmup) / Math.max(1, o.total - o.warmup);
    return minLr + 0.5 * (o.lr - minLr) * (1 + Math.cos(Math.PI * progress));
  };
}

/** Linear warm-up then constant. */
export function warmupConstant(o: { lr: number; warmup: number }): (step: number) => number {
  return (step) => (step < o.warmup ? (o.lr * (step + 1)) / o.warmup : o.lr);
}
