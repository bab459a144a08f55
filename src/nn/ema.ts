// Exponential moving average of a module's weights, for evaluation and sampling (VDVAE, DDPM).
import { type Tensor, keep, noGrad } from "../tensor/index.js";
import type { Module } from "./module.js";

export class Ema {
  /** Shadow copies of every parameter and buffer, by state-dict name. */
  readonly shadow: Map<string, Tensor>;

  constructor(
    model: Module,
    readonly decay = 0.9999,
  ) {
    this.shadow = new Map(noGrad(() => model.namedTensors().map(([n, t]) => [n, keep(t.detach().clone())])));
  }

  /** shadow ← decay · shadow + (1 − decay) · current; `decay` overrides this.decay for one update (warm-up). */
  update(model: Module, decay = this.decay): void {
    noGrad(() => {
      for (const [name, t] of model.namedTensors()) this.shadow.get(name)!.lerp_(t, 1 - decay);
    });
  }

  /** Loads the averaged weights into a module of the same architecture (e.g. an eval copy). */
  copyTo(model: Module): void {
    model.loadStateDict(this.shadow, { source: "EMA" });
  }

  dispose(): void {
    for (const t of this.shadow.values()) t.dispose();
  }
}
