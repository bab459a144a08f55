// Population-based training of a spec's parameters (PBT, Jaderberg et al. 2017; as Population Based Augmentation,
// Ho et al. 2019, uses it for augmentation policies): a small population trains side by side, and every
// `interval` updates the worst quarter by validation last_bpd_given_true takes over the best quarter's run
// (exploit: the exact-resume checkpoint, copied file for file) and perturbs that run's spec (explore: strengths,
// jitters and mixture weights scaled by 0.8 or 1.25, or now and then drawn afresh, always inside the space). What
// each member trained with, interval by interval, is the learned schedule.
//
// Synchronous generations and a generator seeded by (seed, generation, member) make it deterministic. pbt.json
// records each generation in two steps, so a kill anywhere resumes to the same result: the scores and decisions
// are written first (a copy changes the recipient's metrics, so they could not be read again), then the copies
// are made (each idempotent: the donor does not move until the next generation), then the generation is done.
import { cpSync, existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { mulberry32 } from "../util/random.js";
import { writeFileAtomic } from "../util/atomic.js";
import { type OpTerm, type Term, type VideoSpec, parseSpec } from "../video/index.js";
import type { Range, SearchSpace } from "./space.js";

export interface PbtBudget {
  population: number;
  /** Updates between exploit/explore steps, and how many intervals: every member trains interval × generations. */
  interval: number;
  generations: number;
}

/** One interval of the population: what each member trained with, its score at the end, where it went next. */
export interface PbtGeneration {
  /** Updates done at the end of this interval. */
  step: number;
  /** The spec each member trained with during the interval (members in order). */
  specs: VideoSpec[];
  /** Validation last_bpd_given_true at `step` (null: the run failed). */
  bpd: (number | null)[];
  /** The member each one took the run of at `step` (null: kept its own). */
  from: (string | null)[];
  /** Seconds the members trained in this interval (this invocation's, if it was resumed part-way). */
  seconds: number;
  /** The copies are made (the next interval may start). */
  done: boolean;
}

export interface PbtFile {
  ids: string[];
  generations: PbtGeneration[];
}

/** What PBT needs from the tune: train a member (resuming its run) with a spec to `step` updates, and score it. */
export interface PbtHooks {
  dir: (id: string) => string;
  train: (id: string, spec: VideoSpec, step: number) => Promise<boolean>;
  score: (id: string, step: number) => number | null;
  log: (s: string) => void;
}

// ***** exploit *****

/**
 * Copies the run folder `from` over `to`, every file as it is (the checkpoint, its optimizer and RNG state, the
 * metrics up to it), but the lock of a trainer. Written aside and renamed into place, so a kill leaves either
 * folder whole.
 */
export function exploit(from: string, to: string): void {
  const aside = `${to}.exploit`;
  rmSync(aside, { recursive: true, force: true });
  cpSync(from, aside, {
    recursive: true,
    filter: (path) => !/^lock(\.|$)/.test(relative(from, path).split(sep).pop() ?? ""),
  });
  rmSync(to, { recursive: true, force: true });
  renameSync(aside, to);
}

/** Gives the run in `dir` a new spec from its latest checkpoint on: a resume then trains with it. */
function setRunSpec(dir: string, spec: VideoSpec): void {
  const path = join(dir, "config.json");
  const config = JSON.parse(readFileSync(path, "utf8")) as { spec: VideoSpec };
  writeFileAtomic(path, JSON.stringify({ ...config, spec }, null, 2) + "\n");
}

// ***** explore *****

/** PBT's perturbation factors, and how often a parameter is drawn afresh from its range instead. */
const FACTORS = [0.8, 1.25];
const RESAMPLE = 0.2;

/** An operator's strengths may lie anywhere in the span of its two ranges (frame 1's and frame T − 1's). */
function strengthSpan(space: SearchSpace, term: OpTerm): Range {
  const r = space.ops[term.op];
  if (!r) throw new Error(`explore: ${term.op} is not an operator of space ${space.name}`);
  return [Math.min(r.max[0], r.min[0]), Math.max(r.max[1], r.min[1])];
}

/** Frame 1's and frame T − 1's strengths (a velocity's speeds times T − 1, as space.ts draws them). */
export function endStrengths(term: OpTerm, frames: number): [number, number] {
  const s = term.strength;
  return Array.isArray(s) ? [s[0]!, s[s.length - 1]!] : [s.max * (frames - 1), s.min * (frames - 1)];
}

const clip = (v: number, [lo, hi]: Range) => Math.min(hi, Math.max(lo, v));

/**
 * The next member's spec: `spec` with each operator's strengths scaled (the schedule's shape kept, both ends
 * inside the operator's span), each jitter and mixture weight scaled and clipped to the space's range; with
 * probability 0.2 a value is drawn afresh from its range instead. Every result is checked by parseSpec.
 */
export function explore(spec: VideoSpec, space: SearchSpace, seed: number, name: string): VideoSpec {
  const rng = mulberry32(seed);
  const move = (v: number, range: Range) =>
    rng() < RESAMPLE
      ? range[0] + (range[1] - range[0]) * rng()
      : clip(v * FACTORS[Math.floor(rng() * FACTORS.length)]!, range);
  const op = (t: OpTerm): OpTerm => {
    const span = strengthSpan(space, t);
    const [first, last] = endStrengths(t, spec.frames);
    const top = Math.max(first, last);
    // The factor that moves the stronger end, bounded so that both ends stay in the span (a weaker end of 0
    // stays 0, which the span then holds).
    const weak = Math.min(first, last);
    const bounds: Range = [weak > 0 ? span[0] / weak : 0, span[1] / top];
    const f = top > 0 ? clip(move(top, span) / top, [Math.min(...bounds), bounds[1]]) : 1;
    const s = t.strength;
    const strength = Array.isArray(s) ? s.map((v) => v * f) : { ...s, min: s.min * f, max: s.max * f };
    return { ...t, strength, jitter: move(t.jitter, space.jitter) };
  };
  const term = (t: Term): Term =>
    t.op === "mix"
      ? { ...t, of: t.of.map(op), weights: t.weights.map((w) => move(w, space.mix.weights)) }
      : op(t);
  return parseSpec({ ...spec, name, ops: spec.ops.map(term) }, spec.frames);
}

/**
 * A spec's parameters by name, as the learned schedule draws them: each operator's frame-1 strength, and a
 * mixture's probability of each of its operators (its weights normalised).
 */
export function specParameters(spec: VideoSpec): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of spec.ops) {
    const ops = t.op === "mix" ? t.of : [t];
    const total = t.op === "mix" ? t.weights.reduce((a, b) => a + b, 0) : 0;
    ops.forEach((o, i) => {
      out[`${o.op} strength`] = Math.max(...endStrengths(o, spec.frames));
      if (t.op === "mix") out[`${o.op} probability`] = t.weights[i]! / total;
    });
  }
  return out;
}

// ***** the loop *****

/** Which members take over which at the end of an interval: the worst quarter (at least one) the best quarter. */
export function truncation(ids: readonly string[], bpd: readonly (number | null)[]): (string | null)[] {
  const value = (i: number) => bpd[i] ?? Infinity;
  const order = ids.map((_, i) => i).sort((a, b) => value(a) - value(b) || a - b);
  const q = ids.length < 2 ? 0 : Math.max(1, Math.round(ids.length / 4));
  const from: (string | null)[] = ids.map(() => null);
  for (let k = 0; k < q; k++) from[order[order.length - 1 - k]!] = ids[order[k]!]!;
  return from;
}

/** A member's explore seed: seed, generation and member mixed into one 32-bit word. */
const exploreSeed = (seed: number, g: number, i: number) =>
  Math.imul(seed ^ 0x27d4eb2f, 0x165667b1) ^ Math.imul(g + 1, 0x9e3779b9) ^ Math.imul(i + 1, 0x85ebca6b);

/**
 * Runs (or resumes) PBT in `path` (pbt.json) from `initial` specs, one per member. Members train one after the
 * other within an interval; the file after each decision and copy is what a resume starts from.
 */
export async function runPbt(
  path: string,
  initial: VideoSpec[],
  space: SearchSpace,
  budget: PbtBudget,
  seed: number,
  h: PbtHooks,
): Promise<PbtFile> {
  const ids = initial.map((_, i) => `pbt-${i}`);
  const file: PbtFile = existsSync(path)
    ? (JSON.parse(readFileSync(path, "utf8")) as PbtFile)
    : { ids, generations: [] };
  const save = () => writeFileAtomic(path, JSON.stringify(file, null, 2) + "\n");
  for (let g = 0; g < budget.generations; g++) {
    const step = (g + 1) * budget.interval;
    let gen = file.generations[g];
    if (!gen) {
      const before = file.generations[g - 1];
      // This interval's specs: the last one's, or for a member that took another's run, that run's spec explored.
      const specs = before
        ? before.specs.map((s, i) => {
            const donor = before.from[i];
            if (donor === null || donor === undefined) return s;
            return explore(
              before.specs[ids.indexOf(donor)]!,
              space,
              exploreSeed(seed, g, i),
              `${ids[i]}-g${g}`,
            );
          })
        : initial;
      const t0 = performance.now();
      for (const [i, id] of ids.entries()) {
        if (before?.from[i]) setRunSpec(h.dir(id), specs[i]!);
        const ok = await h.train(id, specs[i]!, step);
        if (!ok) h.log(`${id}: failed in interval ${g + 1}`);
      }
      const bpd = ids.map((id) => h.score(id, step));
      // The last interval ends the population: nobody takes over anybody.
      const from = g + 1 < budget.generations ? truncation(ids, bpd) : ids.map(() => null);
      gen = { step, specs, bpd, from, seconds: (performance.now() - t0) / 1000, done: false };
      file.generations[g] = gen;
      save();
      h.log(
        `pbt ${g + 1}/${budget.generations} at ${step} updates: ` +
          ids
            .map((id, i) => `${id} ${bpd[i]?.toFixed(4) ?? "—"}${from[i] ? ` ← ${from[i]}` : ""}`)
            .join(", "),
      );
    }
    if (!gen.done) {
      for (const [i, donor] of gen.from.entries()) if (donor) exploit(h.dir(donor), h.dir(ids[i]!));
      gen.done = true;
      save();
    }
  }
  return file;
}

/**
 * The learned schedule of member `id`: the spec its run trained with in each interval, following its run back
 * through every takeover (after one, its earlier updates are the donor's).
 */
export function lineage(file: PbtFile, id: string): { step: number; spec: VideoSpec }[] {
  const out: { step: number; spec: VideoSpec }[] = [];
  let member = id;
  for (let g = file.generations.length - 1; g >= 0; g--) {
    const gen = file.generations[g]!;
    out.unshift({ step: gen.step, spec: gen.specs[file.ids.indexOf(member)]! });
    // The run `member` holds in interval g came from its donor at the end of interval g − 1.
    const before = file.generations[g - 1];
    member = before?.from[file.ids.indexOf(member)] ?? member;
  }
  return out;
}
