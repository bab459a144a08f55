// Bench cases: one training step (or other unit of work) timed through lastframe and, where a PyTorch twin
// exists in bench/twins.py, through PyTorch in the same run. Their FLOPs are counted as they run (flops.ts).
import { Module, Conv2d, Linear, Adam } from "../nn/index.js";
import { type Tensor, randn, tidy } from "../tensor/index.js";

export interface Runner {
  step(): void;
  dispose(): void;
}

export interface BenchCase {
  name: string;
  description: string;
  /** Items (images) processed per step, for images/s. */
  items?: number;
  setup(): Runner;
  /** The PyTorch twin's case name and arguments in bench/twins.py. */
  twin?: { case: string; args?: Record<string, unknown> };
  /** Overrides the run's warm-up steps, rounds and steps per round, for cases whose step takes many seconds. */
  repeat?: { warmup?: number; rounds?: number; steps?: number };
}

/** The Foundation issue's reference net (see bench/twins.py for its PyTorch twin). */
class ReferenceNet extends Module {
  c1 = new Conv2d(3, 64, 3, { padding: 1 });
  c2 = new Conv2d(64, 64, 3, { stride: 2, padding: 1 });
  c3 = new Conv2d(64, 128, 3, { stride: 2, padding: 1 });
  fc = new Linear(128, 10, { bias: false });
  forward(x: Tensor): Tensor {
    let h = this.c1.forward(x).relu();
    h = this.c2.forward(h).relu();
    h = this.c3.forward(h).relu();
    return this.fc
      .forward(h.mean([2, 3]))
      .square()
      .mean();
  }
}

export const referenceCase: BenchCase = {
  name: "reference",
  description: "conv 3→64→64→128, mean, linear 128→10; Adam step; batch 32×3×32×32",
  items: 32,
  setup() {
    const net = new ReferenceNet();
    const opt = new Adam(net.parameters(), { lr: 1e-3 });
    const x = randn([32, 3, 32, 32]);
    return {
      step: () =>
        tidy(() => {
          const loss = net.forward(x);
          opt.zeroGrad();
          loss.backward();
          opt.update();
        }),
      dispose: () => {
        net.dispose();
        opt.dispose();
        x.dispose();
      },
    };
  },
  twin: { case: "reference" },
};
