// FLOPs of a bench step, counted from the shapes of the convolutions, matmuls and linear layers it runs (attention
// is matmuls), and the machine's sgemm rate that says how far a case is from the limit. Elementwise ops,
// normalisations and reductions are not counted: they are memory-bound and a small share of the multiply-adds.
import { native } from "../native/load.js";
import type { Handle } from "../native/binding.js";
import { noGrad, observeOps, randn, tidy } from "../tensor/index.js";

const shapeOf = (h: unknown): number[] => native.info(h as Handle).slice(3) as number[];
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

/**
 * Multiply-adds × 2 of one operator call from its arguments and result, or 0 for operators that are not counted.
 * Convolutions: 2 · output elements · (Cin/groups · kh · kw), transposed ones from the input side; products:
 * 2 · result elements · the contracted size.
 */
function opFlops(name: string, args: readonly unknown[], result: unknown): number {
  switch (name) {
    case "aten::conv2d":
    case "aten::conv3d": {
      const w = shapeOf(args[1]);
      return 2 * numel(shapeOf(result)) * numel(w.slice(1));
    }
    case "aten::conv_transpose2d": {
      const w = shapeOf(args[1]);
      return 2 * numel(shapeOf(args[0])) * numel(w.slice(1));
    }
    case "aten::linear":
    case "aten::matmul":
    case "aten::mm":
    case "aten::bmm": {
      const a = shapeOf(args[0]);
      return 2 * numel(shapeOf(result)) * a[a.length - 1]!;
    }
    case "aten::addmm":
    case "aten::baddbmm": {
      const a = shapeOf(args[1]);
      return 2 * numel(shapeOf(result)) * a[a.length - 1]!;
    }
    default:
      return 0;
  }
}

/**
 * FLOPs of one call of `step`, counted as it runs. An operator whose result requires grad is counted 3×: its
 * backward computes the gradient of the input and of the weight, each as many multiply-adds as the forward (the
 * usual rule; a first layer, whose input needs no gradient, costs 2× and is overcounted).
 */
export function countFlops(step: () => void): number {
  let flops = 0;
  observeOps((name, args, result) => {
    const f = opFlops(name, args, result);
    if (f) flops += f * (native.info(result as Handle)[1] ? 3 : 1);
  });
  try {
    step();
  } finally {
    observeOps(null);
  }
  return flops;
}

/**
 * This machine's fp32 matmul rate in GFLOP/s at the current thread count: the best of `reps` products of two
 * n × n matrices (the limit a case's GFLOP/s is compared with).
 */
export function sgemmPeak(n = 1024, reps = 8): number {
  return tidy(() =>
    noGrad(() => {
      const [a, b] = [randn([n, n]), randn([n, n])];
      a.matmul(b).dispose();
      let best = Infinity;
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        a.matmul(b).dispose();
        best = Math.min(best, performance.now() - t0);
      }
      return (2 * n ** 3) / (best * 1e6);
    }),
  );
}
