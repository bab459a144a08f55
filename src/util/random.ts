// A small seeded generator for choices made in JavaScript (subsets, shuffles), so that metrics and feature-net
// training are reproducible without touching libtorch's global generator.

/** mulberry32: a 32-bit state generator of uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `k` distinct indices out of 0..n-1 (a partial Fisher–Yates shuffle). */
export function choose(rng: () => number, n: number, k: number): Int32Array {
  const all = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng() * (n - i));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, k);
}

/** A random permutation of 0..n-1. */
export function permutation(rng: () => number, n: number): Int32Array {
  return choose(rng, n, n);
}
