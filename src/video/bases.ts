// Cached matrices for the separable linear operators of the video module. A separable operator acts on an
// image as x ↦ A x Bᵀ with A (H, H) acting on rows and B (W, W) on columns, so a per-image operator is a batch of
// small matrices and one batched matmul applies it: no per-pixel loops, and per-image strengths for free.
// The matrices depend only on the image size, so each is built once and kept outside every tidy() scope.
import { type DType, type Tensor, arange, fromTyped, keep, tidy } from "../tensor/index.js";

const cache = new Map<string, Tensor>();

function cached(key: string, build: () => Tensor): Tensor {
  let t = cache.get(key);
  if (t === undefined || t.isDisposed) {
    t = keep(tidy(build));
    cache.set(key, t);
  }
  return t;
}

/**
 * The orthonormal DCT-II matrix D (n, n): D[k, i] = c_k cos(π (2i + 1) k / 2n), c_0 = √(1/n), c_k = √(2/n).
 * Its rows are the eigenvectors of the heat equation on n pixels with reflecting (Neumann) boundaries, the
 * basis IHDM blurs in (Rissanen et al. 2023).
 */
export function dctMatrix(n: number, dtype: DType = "float32"): Tensor {
  return cached(`dct:${n}:${dtype}`, () => {
    const k = arange(0, n, 1, { dtype: "float64" }).unsqueeze(1);
    const i = arange(0, n, 1, { dtype: "float64" }).unsqueeze(0);
    const scale = k
      .eq(0)
      .to("float64")
      .mul(Math.sqrt(1 / n) - Math.sqrt(2 / n))
      .add(Math.sqrt(2 / n));
    return i
      .mul(2)
      .add(1)
      .mul(k)
      .mul(Math.PI / (2 * n))
      .cos()
      .mul(scale)
      .to(dtype);
  });
}

/** Heat-equation eigenvalues (n,) of the DCT basis: λ_k = (π k / n)², in units of pixel⁻². */
export function heatEigenvalues(n: number, dtype: DType = "float32"): Tensor {
  return cached(`heat:${n}:${dtype}`, () =>
    arange(0, n, 1, { dtype: "float64" })
      .mul(Math.PI / n)
      .square()
      .to(dtype),
  );
}

/**
 * Pixelation matrices P (n, n, n): P[r - 1] averages n pixels into r cells (the bins of adaptive average
 * pooling: cell j covers [⌊jn/r⌋, ⌈(j+1)n/r⌉)) and repeats each cell back over n pixels (nearest upsampling:
 * pixel i shows cell ⌊i r / n⌋). P[n - 1] is the identity and P[0] replaces every pixel by the mean.
 */
export function pixelateMatrices(n: number, dtype: DType = "float32"): Tensor {
  return cached(`pixelate:${n}:${dtype}`, () => {
    // Built once per size in plain JS: n³ numbers, a few hundred thousand at most for the sizes we train on.
    const m = new Float64Array(n * n * n);
    for (let r = 1; r <= n; r++) {
      for (let i = 0; i < n; i++) {
        const cell = Math.floor((i * r) / n);
        const start = Math.floor((cell * n) / r);
        const end = Math.ceil(((cell + 1) * n) / r);
        for (let j = start; j < end; j++) m[((r - 1) * n + i) * n + j] = 1 / (end - start);
      }
    }
    return fromTyped(m, [n, n, n]).to(dtype);
  });
}

/** x (N, C, H, W) ↦ A x Bᵀ for every channel, with one row matrix A (N, H, H) and column matrix B (N, W, W) per image. */
export function separable(x: Tensor, a: Tensor, b: Tensor): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  // (N, C, H, W) → (N, C·H, W): the columns of all channels in one matmul per image
  const cols = x.reshape(n, c * h, w).bmm(b.transpose(1, 2));
  // (N, C·H, W) → (N, H, C·W): then the rows
  const rows = a.bmm(
    cols
      .reshape(n, c, h, w)
      .permute(0, 2, 1, 3)
      .reshape(n, h, c * w),
  );
  return rows.reshape(n, h, c, w).permute(0, 2, 1, 3);
}

/** x (…, H, W) ↦ A x Bᵀ with one A (H', H) and B (W', W) for all images, as two plain matrix products. */
export function matmul2(x: Tensor, a: Tensor, b: Tensor): Tensor {
  const shape = x.shape;
  const [h, w] = shape.slice(-2) as [number, number];
  const [h2, w2] = [a.size(0), b.size(0)];
  const m = x.numel / (h * w);
  // (…, H, W) → (M·H, W) → columns → (M, W', H) → (M·W', H) → rows → (…, H', W')
  const cols = x
    .reshape(m * h, w)
    .mm(b.t())
    .reshape(m, h, w2)
    .transpose(1, 2);
  return cols
    .reshape(m * w2, h)
    .mm(a.t())
    .reshape(m, w2, h2)
    .transpose(1, 2)
    .reshape(...shape.slice(0, -2), h2, w2);
}

/** The 2-D orthonormal DCT of the last two dimensions of x (…, H, W). */
export function dct2(x: Tensor): Tensor {
  const [h, w] = x.shape.slice(-2) as [number, number];
  return matmul2(x, dctMatrix(h, x.dtype), dctMatrix(w, x.dtype));
}
