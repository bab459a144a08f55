// Search spaces of pseudo-video specs: what `lastframe tune` may try. Users write one in JSON (or name a preset);
// parseSpace validates it with one-line errors naming the key, and samplePoint draws a spec from it with a seeded
// generator. Every point is built to pass parseSpec (chains get per-frame draws, no velocities and marginal
// noise/blur schedules; geometric schedules stay above 0), and is then resolved by parseSpec itself, so a point is
// a valid VideoSpec by construction and by check.
//
//   {
//     "name": "basic",
//     "frames": 4,                           // T, or a list of choices [4, 8]
//     "order": ["direct", "chain"],          // choices: how earlier frames are made (spec.ts)
//     "terms": [1, 2],                       // how many terms are composed: an integer or a range [min, max]
//     "ops": {                               // the operators a point may use, composed in this order
//       "blur":  { "max": [0.2, 1], "min": [0.01, 0.2], "params": { "sigma": 0.5 } },
//       "noise": { "max": [0.05, 0.5] }
//     },
//     "schedules": ["linear", "cosine", "geometric", "velocity"],
//     "jitter": [0, 0.3],                    // a number or a range [lo, hi], drawn uniformly
//     "mix": { "probability": 0.5, "size": [2, 3], "weights": [0.5, 2] },
//     "draws": ["frame", "video"],
//     "monotone": true                       // per-frame order: strength never rises from frame 1 to frame T - 1
//   }
//
// `max` is the strength of frame 1 (the most corrupted) and `min` that of frame T - 1 (spec.ts); both are ranges
// in [0, 1]. For a velocity, the speed's bounds are min and max divided by T - 1, so frame 1's strength lies in
// the same range as the other schedules'. A term is a mix (a random choice per frame among `size` operators, with
// weights drawn from `weights`) with probability mix.probability. An operator is used at most once per point, and
// the chosen ones are composed in the order the space lists them (noise last, say, as the presets do). A space
// whose every choice has one value and whose ranges are numbers has one point.
import { existsSync, readFileSync } from "node:fs";
import { ArgumentError, expected, isPositiveInt, oneLine } from "../errors.js";
import { mulberry32 } from "../util/random.js";
import {
  type DrawMode,
  type OpInput,
  type OperatorName,
  type Order,
  type SpecInput,
  type VideoSpec,
  operatorNames,
  parseSpec,
} from "../video/index.js";

type Schedule = "linear" | "cosine" | "geometric" | "velocity";
const scheduleNames: readonly Schedule[] = ["linear", "cosine", "geometric", "velocity"];

/** A closed interval drawn uniformly (lo = hi: a fixed value). */
export type Range = [number, number];

export interface OpRange {
  max: Range;
  min: Range;
  params: Record<string, number | string>;
}

/** A resolved search space: every key present, ranges as [lo, hi]. */
export interface SearchSpace {
  name: string;
  frames: number[];
  order: Order[];
  terms: Range;
  ops: Partial<Record<OperatorName, OpRange>>;
  schedules: Schedule[];
  jitter: Range;
  mix: { probability: number; size: Range; weights: Range };
  draws: DrawMode[];
  monotone: boolean;
}

/** Geometric schedules are log-spaced: a strength of 0 would be minus infinity, so they start at this floor. */
const GEOMETRIC_FLOOR = 1e-3;

const defaultStrength = { max: [0.2, 1] as Range, min: [0.01, 0.2] as Range };

const spacePresets: Record<string, object> = {
  // The operators of the hand-written presets (blur, pixelation, patch masks, noise) in direct order: what the
  // `expressive`, `independent` and `mixture` presets are points of, with wider strengths and schedule families.
  basic: {
    frames: 4,
    order: "direct",
    terms: [1, 2],
    ops: {
      blur: { max: [0.1, 0.8], min: [0.01, 0.1] },
      pixelate: { max: [0.3, 1], min: [0.05, 0.4] },
      mask: { max: [0.3, 1], min: [0.05, 0.4] },
      noise: { max: [0.05, 0.8], min: [0.01, 0.2] },
    },
    schedules: ["linear", "cosine", "geometric"],
    jitter: [0, 0.4],
    mix: { probability: 0.5, size: [2, 3], weights: [0.5, 2] },
    draws: "frame",
  },
  // Every operator, both orders, velocities and per-video draws: trajectories (momentum), chains and mixtures.
  wide: {
    frames: 4,
    order: ["direct", "chain"],
    terms: [1, 3],
    ops: Object.fromEntries(operatorNames.map((name) => [name, {}])),
    schedules: scheduleNames,
    jitter: [0, 0.5],
    mix: { probability: 0.4, size: [2, 4], weights: [0.5, 2] },
    draws: ["frame", "video"],
  },
};

export const spacePresetNames = Object.keys(spacePresets);

/** A preset name, the path of a .json file or a space object → a validated SearchSpace. */
export function parseSpace(space: string | object): SearchSpace {
  if (typeof space === "string") {
    const preset = spacePresets[space];
    if (preset) return resolveSpace(preset, space);
    if (!space.endsWith(".json") || !existsSync(space))
      throw expected(
        `a space preset (${spacePresetNames.join(", ")}) or the path of a .json file`,
        "space",
        space,
      );
    let input: unknown;
    try {
      input = JSON.parse(readFileSync(space, "utf8"));
    } catch (err) {
      throw new ArgumentError(`Space file ${space} is not valid JSON: ${oneLine((err as Error).message)}`);
    }
    return resolveSpace(input, space.replace(/^.*[\\/]/, "").replace(/\.json$/, ""));
  }
  return resolveSpace(space, "custom");
}

// ***** validation *****

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkKeys(o: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(o))
    if (!allowed.includes(key))
      throw new ArgumentError(
        `Unknown key ${JSON.stringify(key)} in ${where} (valid: ${allowed.join(", ")})`,
      );
}

/** A number or [lo, hi] inside [min, max] (integers where asked) → [lo, hi]. */
function range(v: unknown, fallback: Range, min: number, max: number, where: string, integer = false): Range {
  if (v === undefined) return fallback;
  const ok = (x: unknown): x is number =>
    typeof x === "number" && Number.isFinite(x) && x >= min && x <= max && (!integer || Number.isInteger(x));
  const kind = `${integer ? "an integer" : "a number"} in [${min}, ${max}] or a range [lo, hi] of them`;
  if (ok(v)) return [v, v];
  if (!Array.isArray(v) || v.length !== 2 || !ok(v[0]) || !ok(v[1])) throw expected(kind, where, v);
  if (v[0] > v[1]) throw new ArgumentError(`${where}: lo ${v[0]} is above hi ${v[1]}`);
  return [v[0], v[1]];
}

/** One value or a non-empty list of distinct values, each one of `choices`. */
function choices<T extends string>(v: unknown, valid: readonly T[], fallback: T[], where: string): T[] {
  if (v === undefined) return fallback;
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0 || list.some((x) => !valid.includes(x as T)))
    throw expected(`one of ${valid.join(", ")} or a non-empty list of them`, where, v);
  return [...new Set(list as T[])];
}

function resolveSpace(input: unknown, name: string): SearchSpace {
  if (!isObject(input)) throw expected("an object", "space", input);
  const keys = ["name", "frames", "order", "terms", "ops", "schedules", "jitter", "mix", "draws", "monotone"];
  checkKeys(input, keys, "space");
  if (input.name !== undefined && (typeof input.name !== "string" || !/^[\w.-]+$/.test(input.name)))
    throw expected("a name of letters, digits, '.', '_' or '-'", "space.name", input.name);
  const frames = Array.isArray(input.frames) ? input.frames : [input.frames ?? 4];
  if (frames.length === 0 || !frames.every((t) => isPositiveInt(t) && t >= 2 && t <= 64))
    throw expected("T in 2 … 64 or a non-empty list of them", "space.frames", input.frames);
  if (!isObject(input.ops) || Object.keys(input.ops).length === 0)
    throw expected(
      'an object of operators, e.g. { "blur": {}, "noise": { "max": [0.1, 0.5] } }',
      "space.ops",
      input.ops,
    );
  const ops: Partial<Record<OperatorName, OpRange>> = {};
  for (const [op, v] of Object.entries(input.ops)) {
    const where = `space.ops.${op}`;
    if (!operatorNames.includes(op as OperatorName))
      throw expected(`an operator (${operatorNames.join(", ")})`, "space.ops key", op);
    if (!isObject(v)) throw expected("an object of strength ranges", where, v);
    checkKeys(v, ["max", "min", "params"], where);
    if (v.params !== undefined && !isObject(v.params))
      throw expected("an object", `${where}.params`, v.params);
    ops[op as OperatorName] = {
      max: range(v.max, defaultStrength.max, 0, 1, `${where}.max`),
      min: range(v.min, defaultStrength.min, 0, 1, `${where}.min`),
      params: (v.params ?? {}) as Record<string, number | string>,
    };
  }
  const mixIn = input.mix ?? {};
  if (!isObject(mixIn)) throw expected("an object", "space.mix", mixIn);
  checkKeys(mixIn, ["probability", "size", "weights"], "space.mix");
  const probability = range(mixIn.probability, [0, 0], 0, 1, "space.mix.probability");
  if (probability[0] !== probability[1])
    throw expected("a number in [0, 1]", "space.mix.probability", mixIn.probability);
  if (input.monotone !== undefined && typeof input.monotone !== "boolean")
    throw expected("true or false", "space.monotone", input.monotone);
  const space: SearchSpace = {
    name: (input.name as string | undefined) ?? name,
    frames: [...new Set(frames as number[])],
    order: choices(input.order, ["direct", "chain"] as const, ["direct"], "space.order"),
    terms: range(input.terms, [1, 1], 1, operatorNames.length, "space.terms", true),
    ops,
    schedules: choices(input.schedules, scheduleNames, ["linear"], "space.schedules"),
    jitter: range(input.jitter, [0, 0], 0, 1, "space.jitter"),
    mix: {
      probability: probability[0],
      size: range(mixIn.size, [2, 2], 2, operatorNames.length, "space.mix.size", true),
      weights: range(mixIn.weights, [1, 1], 1e-3, 1e3, "space.mix.weights"),
    },
    draws: choices(input.draws, ["frame", "video"] as const, ["frame"], "space.draws"),
    monotone: (input.monotone as boolean | undefined) ?? true,
  };
  checkCoherent(space);
  return space;
}

/** What a chain needs from the space, and operator parameters, checked once on a trial spec per operator. */
function checkCoherent(space: SearchSpace): void {
  if (space.order.includes("chain")) {
    if (!space.schedules.some((s) => s !== "velocity"))
      throw new ArgumentError(
        'space.schedules: a chain (space.order) cannot use velocities; add "linear", "cosine" or "geometric"',
      );
    if (!space.draws.includes("frame"))
      throw new ArgumentError('space.draws: a chain (space.order) draws afresh every frame; add "frame"');
  }
  const count = Object.keys(space.ops).length;
  if (space.terms[0] > count)
    throw new ArgumentError(
      `space.terms: at least ${space.terms[0]} terms, but space.ops has ${count} operators`,
    );
  for (const [op, r] of Object.entries(space.ops)) {
    try {
      parseSpec({ ops: [{ op, strength: 0.5, params: r.params }] }, 2);
    } catch (err) {
      throw new ArgumentError(`space.ops.${op}: ${(err as Error).message}`);
    }
  }
}

// ***** sampling *****

/**
 * Point `index` of a space under `seed`: a spec drawn with a generator seeded by both, so a tune names its
 * candidates by index and can draw any one again. The same (seed, index) always gives the same spec.
 */
export function samplePoint(space: SearchSpace, seed: number, index: number): VideoSpec {
  // Two 32-bit words mixed into one seed: nearby indices give unrelated streams.
  const rng = mulberry32(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
  const uniform = ([lo, hi]: Range) => (lo === hi ? lo : lo + (hi - lo) * rng());
  const integer = ([lo, hi]: Range) => lo + Math.floor(rng() * (hi - lo + 1));
  const pick = <T>(list: readonly T[]): T =>
    list.length === 1 ? list[0]! : list[Math.floor(rng() * list.length)]!;

  const frames = pick(space.frames);
  const order = pick(space.order);
  const chain = order === "chain";
  const names = Object.keys(space.ops) as OperatorName[];
  const pool = [...names];
  const take = () => pool.splice(pool.length === 1 ? 0 : Math.floor(rng() * pool.length), 1)[0]!;
  const terms: { names: OperatorName[]; weights: number[] }[] = [];
  const count = Math.min(integer(space.terms), names.length);
  for (let i = 0; i < count && pool.length > 0; i++) {
    // A mix only when two operators are left to mix; its size is cut to what is left.
    const mix = pool.length >= 2 && space.mix.probability > 0 && rng() < space.mix.probability;
    const size = mix ? Math.min(integer(space.mix.size), pool.length) : 1;
    const chosen = Array.from({ length: size }, take).sort((a, b) => names.indexOf(a) - names.indexOf(b));
    terms.push({ names: chosen, weights: mix ? chosen.map(() => uniform(space.mix.weights)) : [] });
  }
  // Terms compose in the space's operator order (by each term's first operator).
  terms.sort((a, b) => names.indexOf(a.names[0]!) - names.indexOf(b.names[0]!));
  const schedules = chain ? space.schedules.filter((s) => s !== "velocity") : space.schedules;
  const draws = chain ? (["frame"] as DrawMode[]) : space.draws;
  const opInput = (name: OperatorName, inMix: boolean): OpInput => {
    const r = space.ops[name]!;
    const schedule = pick(schedules);
    let hi = uniform(r.max);
    let lo = uniform(r.min);
    // A velocity's bounds and a marginal chain's totals must be ordered; so must everything when monotone.
    const marginal = chain && !inMix && (name === "noise" || name === "blur");
    if ((space.monotone || marginal || schedule === "velocity") && lo > hi) [lo, hi] = [hi, lo];
    if (schedule === "geometric") [lo, hi] = [Math.max(lo, GEOMETRIC_FLOOR), Math.max(hi, GEOMETRIC_FLOOR)];
    const strength =
      schedule === "velocity"
        ? { schedule, min: lo / (frames - 1), max: hi / (frames - 1) }
        : { schedule, min: lo, max: hi };
    const input: OpInput = { op: name, strength, jitter: uniform(space.jitter), params: r.params };
    // A mix draws per frame or per video itself; its operators' own draws follow the space too.
    input.draws = pick(draws);
    if (marginal) input.marginal = true;
    return input;
  };
  const spec: SpecInput = {
    name: `${space.name}-${index}`,
    order,
    ops: terms.map((t) =>
      t.names.length === 1
        ? opInput(t.names[0]!, false)
        : { op: "mix", of: t.names.map((n) => opInput(n, true)), weights: t.weights, draws: pick(draws) },
    ),
  };
  return parseSpec(spec, frames);
}

// ***** baselines *****

/**
 * RandAugment's two scalars as a pseudo video: each earlier frame composes `n` operators, each a uniform choice
 * among the space's, at magnitude `m` for frame 1 falling linearly towards the image (spec.ts's default min).
 */
export function randAugmentSpec(space: SearchSpace, n: number, m: number): VideoSpec {
  const of = (Object.keys(space.ops) as OperatorName[]).map((op) => ({
    op,
    strength: { schedule: "linear" as const, max: m },
    params: space.ops[op]!.params,
  }));
  const name = `randaugment-n${n}-m${m}`;
  return parseSpec({ name, ops: Array.from({ length: n }, () => ({ op: "mix", of })) }, space.frames[0]!);
}

/**
 * TrivialAugment: each earlier frame one operator chosen uniformly among the space's at a strength uniform in
 * [0, 1] (0.5 with jitter 1 scales it by a uniform factor in [0, 2]), no search and no order.
 */
export function trivialAugmentSpec(space: SearchSpace): VideoSpec {
  const of = (Object.keys(space.ops) as OperatorName[]).map((op) => ({
    op,
    strength: 0.5,
    jitter: 1,
    params: space.ops[op]!.params,
  }));
  return parseSpec({ name: "trivialaugment", ops: [{ op: "mix", of }] }, space.frames[0]!);
}
