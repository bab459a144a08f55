// The bench's statistics: a 95 % interval for the ratio of two sides timed in paired, interleaved rounds, and the
// comparison of a bench against a saved one. Both sides of a round see the same machine state, so the per-round
// ratios are far less noisy than either side's times (which drift by ±30 % here from minute to minute); the
// interval is Student's t on their logarithms (ratios are multiplicative), mapped back.

/** Student's t 0.975 quantiles for 1 … 30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The 0.975 quantile of Student's t with `df` degrees of freedom (table to 30, then its Cornish–Fisher series). */
export function t975(df: number): number {
  if (df <= T975.length) return T975[df - 1]!;
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2);
}

export interface RatioInterval {
  /** Geometric mean of the per-round ratios a/b. */
  ratio: number;
  /** The 95 % interval's ends; null with fewer than two rounds. */
  lo: number | null;
  hi: number | null;
  rounds: number;
}

/** a[i] / b[i] are the two sides' times in round i (e.g. each side's median step in that round). */
export function ratioInterval(a: readonly number[], b: readonly number[]): RatioInterval {
  if (a.length !== b.length || a.length === 0)
    throw new Error(`ratioInterval: expected paired rounds, got ${a.length} and ${b.length}`);
  const logs = a.map((x, i) => Math.log(x / b[i]!));
  const n = logs.length;
  const mean = logs.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { ratio: Math.exp(mean), lo: null, hi: null, rounds: n };
  const sd = Math.sqrt(logs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  const half = (t975(n - 1) * sd) / Math.sqrt(n);
  return { ratio: Math.exp(mean), lo: Math.exp(mean - half), hi: Math.exp(mean + half), rounds: n };
}

/** Half the interval's width in ratio units (Infinity when there is no interval yet). */
export function halfWidth(r: RatioInterval): number {
  return r.lo === null || r.hi === null ? Infinity : (r.hi - r.lo) / 2;
}

/** What a comparison needs of a bench case (the fields of a bench JSON's `cases`). */
export interface ComparableCase {
  name: string;
  ts_ms: number;
  ratio: number | null;
  ratio_lo: number | null;
  ratio_hi: number | null;
}

export type Verdict = "slower" | "faster" | "same" | "not judged";

export interface Comparison {
  name: string;
  verdict: Verdict;
  before: { ts_ms: number; ratio: number | null };
  after: { ts_ms: number; ratio: number | null };
}

/**
 * Each case present in both benches, judged by its ratio to PyTorch: slower when the two 95 % intervals do not
 * overlap and the new one lies above, faster when it lies below. Absolute times are not judged: on this machine
 * they drift more between runs than the differences worth flagging; a case without intervals is "not judged".
 */
export function compareBenches(before: ComparableCase[], after: ComparableCase[]): Comparison[] {
  return after.flatMap((a) => {
    const b = before.find((x) => x.name === a.name);
    if (!b) return [];
    const verdict: Verdict =
      a.ratio_lo === null || a.ratio_hi === null || b.ratio_lo === null || b.ratio_hi === null
        ? "not judged"
        : a.ratio_lo > b.ratio_hi
          ? "slower"
          : a.ratio_hi < b.ratio_lo
            ? "faster"
            : "same";
    return [
      {
        name: a.name,
        verdict,
        before: { ts_ms: b.ts_ms, ratio: b.ratio },
        after: { ts_ms: a.ts_ms, ratio: a.ratio },
      },
    ];
  });
}
