// Successive halving (Jamieson & Talwalkar 2016; the synchronous form of ASHA, Li et al. 2020): every candidate
// trains a short run, the best 1/η by a validation score go on training to the next rung's updates, and so on.
// Synchronous, so that which candidates are promoted is a function of the scores alone (the order in which
// runs finish plays no part): a tune is deterministic under its seed, with any number of jobs.

/** How many candidates train at each rung: n, then ⌈n/η⌉ of them, … (at least one). */
export function rungSizes(n: number, eta: number, rungs: number): number[] {
  const sizes = [n];
  for (let r = 1; r < rungs; r++) sizes.push(Math.max(1, Math.ceil(sizes[r - 1]! / eta)));
  return sizes;
}

/**
 * The `keep` candidates with the lowest scores, in the order they were given: a non-finite score (a run that
 * diverged or failed) ranks last, and ties go to the candidate given first.
 */
export function promote(ids: readonly string[], score: (id: string) => number, keep: number): string[] {
  const value = (id: string) => (Number.isFinite(score(id)) ? score(id) : Infinity);
  const ranked = ids
    .map((id, i) => ({ id, i, v: value(id) }))
    .sort((a, b) => (a.v === b.v ? a.i - b.i : a.v < b.v ? -1 : 1))
    .slice(0, keep);
  return ranked.sort((a, b) => a.i - b.i).map((c) => c.id);
}
