// The pseudo-video spec: which operators make the earlier frames of a video whose last frame is the image, with
// which strengths, and in which order. Users write it in JSON (or name a preset); parseSpec validates it and
// resolves every default and schedule into a plain JSON-serialisable VideoSpec, which training saves with each
// run and which parses back to itself.
//
//   {
//     "order": "direct",                  // direct: every frame made from the image; chain: from the next frame
//     "ops": [                            // applied in this order to make each frame (composition)
//       { "op": "blur", "strength": { "schedule": "geometric", "min": 0.05, "max": 1 } },
//       { "op": "mix", "of": [ { "op": "mask" }, { "op": "pixelate", "strength": 0.8 } ], "weights": [2, 1] },
//       { "op": "noise", "strength": [0.3, 0.2, 0.1], "draws": "frame", "jitter": 0.2 }
//     ],
//     "shuffle": false                    // true: earlier frames come from another image's video
//   }
//
// Frames are numbered 1 … T with frame T the image; `strength` lists the T - 1 earlier frames, frame 1 first.
// A strength is a number (every frame), a list of T - 1 numbers, a schedule from `max` (frame 1) to `min`
// (frame T - 1; default max / (T - 1)) — linear, cosine (slow near the image) or geometric (log-spaced, as IHDM
// spaces blur σ) — or { "schedule": "velocity", "min", "max" }: a speed v drawn once per video from [min, max]
// and strength (T - t) · v at frame t, a parameter moving with constant velocity. `jitter` j scales each
// frame's strength by a uniform factor in [1 - j, 1 + j]. `draws` says whether an operator's random parameters
// (noise, mask cells, directions) are drawn once per video or afresh for every frame.
//
// In chain order strengths are per step: frame t is made from frame t + 1 at strength s_t. With
// "marginal": true (noise and blur, whose steps compose) the schedule gives each frame's total strength
// instead and is converted to steps. A chain must draw afresh at every step and cannot use velocities: shared
// draws would carry hidden state from frame to frame and break the first-order Markov property.
//
// A spec without operators is the plain image: T = 1 whatever the frames argument says.
import { existsSync, readFileSync } from "node:fs";
import { ArgumentError, expected, isPositiveInt, oneLine } from "../errors.js";
import {
  type OperatorName,
  type Params,
  checkStrength,
  operatorNames,
  operators,
  resolveParams,
} from "./operators.js";
import { presets } from "./presets.js";
import type { DrawMode, MixInput, OpInput, Order, SpecInput, StrengthInput } from "./spec-input.js";

export type { DrawMode, MixInput, OpInput, Order, SpecInput, StrengthInput };

/** A speed drawn once per video from [min, max]; frame t gets strength (T - t) · speed, at most 1. */
export interface Velocity {
  schedule: "velocity";
  min: number;
  max: number;
}

export interface OpTerm {
  op: OperatorName;
  /** One strength per earlier frame (frame 1 first), or a velocity. */
  strength: number[] | Velocity;
  jitter: number;
  draws: DrawMode;
  params: Params;
}

/** A random choice, per frame or per video, of one of several operators. */
export interface MixTerm {
  op: "mix";
  of: OpTerm[];
  weights: number[];
  draws: DrawMode;
}

export type Term = OpTerm | MixTerm;

/** A fully resolved pseudo-video spec (JSON-serialisable; parseSpec(spec, spec.frames) returns it unchanged). */
export interface VideoSpec {
  name: string;
  frames: number;
  order: Order;
  ops: Term[];
  shuffle: boolean;
}

export const presetNames: readonly string[] = Object.keys(presets);

/**
 * The most frames a spec may have: 8× the longest the experiments use (T = 8). Each frame is a full image
 * per operator, so a typo such as --frames 100000 would otherwise build a spec and buffers of gigabytes.
 */
const MAX_FRAMES = 64;

/**
 * Resolves a preset name, a path to a .json file or a spec object into a VideoSpec for T = `frames`. Throws an
 * ArgumentError naming the offending key and value.
 */
export function parseSpec(spec: string | object, frames: number): VideoSpec {
  if (!isPositiveInt(frames)) throw expected("positive integer", "frames", frames);
  if (frames > MAX_FRAMES)
    throw expected(`at most ${MAX_FRAMES} (the longest pseudo video lastframe makes)`, "frames", frames);
  if (typeof spec === "string") {
    const preset = presets[spec];
    if (preset) return resolve(preset(frames), frames, spec);
    if (!spec.endsWith(".json") || !existsSync(spec))
      throw expected(`a preset (${presetNames.join(", ")}) or the path of a .json file`, "spec", spec);
    return resolve(readJson(spec), frames, spec.replace(/^.*[\\/]/, "").replace(/\.json$/, ""));
  }
  return resolve(spec, frames, "custom");
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ArgumentError(`Could not read spec file ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ArgumentError(`Spec file ${path} is not valid JSON: ${oneLine((err as Error).message)}`);
  }
}

// ***** validation *****

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkKeys(o: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key))
      throw new ArgumentError(
        `Unknown key ${JSON.stringify(key)} in ${where} (valid: ${allowed.join(", ")})`,
      );
  }
}

function choice<T extends string>(v: unknown, choices: readonly T[], fallback: T, where: string): T {
  if (v === undefined) return fallback;
  if (typeof v !== "string" || !choices.includes(v as T))
    throw expected(`one of ${choices.join(", ")}`, where, v);
  return v as T;
}

function number(v: unknown, fallback: number, min: number, max: number, where: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max)
    throw expected(`number in [${min}, ${max}]`, where, v);
  return v;
}

function resolve(input: unknown, frames: number, name: string): VideoSpec {
  if (!isObject(input)) throw expected("an object", "spec", input);
  const o = input as SpecInput & Record<string, unknown>;
  checkKeys(o, ["name", "frames", "order", "ops", "shuffle"], "spec");
  if (o.name !== undefined && typeof o.name !== "string") throw expected("a string", "spec.name", o.name);
  if (o.ops !== undefined && !Array.isArray(o.ops))
    throw expected("an array of operators", "spec.ops", o.ops);
  const ops = (o.ops ?? []) as unknown[];
  if (o.frames !== undefined && !isPositiveInt(o.frames))
    throw expected("positive integer", "spec.frames", o.frames);
  if (o.shuffle !== undefined && typeof o.shuffle !== "boolean")
    throw expected("true or false", "spec.shuffle", o.shuffle);
  const order = choice(o.order, ["direct", "chain"] as const, "direct", "spec.order");
  // Nothing to put in earlier frames: the plain image.
  const t = ops.length === 0 ? 1 : frames;
  if (ops.length > 0 && o.frames !== undefined && o.frames !== frames)
    throw new ArgumentError(`The spec has frames ${o.frames} but frames is ${frames}`);
  const shuffle = o.shuffle ?? false;
  const ctx: Context = { frames: t, order };
  return {
    name: o.name ?? name,
    frames: t,
    order,
    ops: ops.map((term, i) => resolveTerm(term, `spec.ops[${i}]`, ctx)),
    shuffle,
  };
}

interface Context {
  frames: number;
  order: Order;
}

function resolveTerm(input: unknown, where: string, ctx: Context): Term {
  if (!isObject(input)) throw expected("an operator object", where, input);
  if (input.op !== "mix") return resolveOp(input, where, ctx);
  checkKeys(input, ["op", "of", "weights", "draws"], where);
  if (!Array.isArray(input.of) || input.of.length === 0)
    throw expected("a non-empty array of operators", `${where}.of`, input.of);
  const of = input.of.map((child: unknown, i: number) => {
    if (isObject(child) && child.op === "mix")
      throw new ArgumentError(`${where}.of[${i}]: a mix cannot contain another mix`);
    return resolveOp(child, `${where}.of[${i}]`, ctx);
  });
  const weights = input.weights ?? of.map(() => 1);
  if (
    !Array.isArray(weights) ||
    weights.length !== of.length ||
    !weights.every((w) => typeof w === "number" && w > 0 && Number.isFinite(w))
  )
    throw expected(`${of.length} positive numbers`, `${where}.weights`, weights);
  return {
    op: "mix",
    of,
    weights: weights as number[],
    draws: resolveDraws(input.draws, `${where}.draws`, ctx),
  };
}

function resolveDraws(v: unknown, where: string, ctx: Context): DrawMode {
  const draws = choice(v, ["frame", "video"] as const, "frame", where);
  if (ctx.order === "chain" && draws === "video")
    throw expected(
      '"frame" in a chain (draws shared by all frames carry hidden state and break the first-order Markov property)',
      where,
      v,
    );
  return draws;
}

function resolveOp(input: unknown, where: string, ctx: Context): OpTerm {
  if (!isObject(input)) throw expected("an operator object", where, input);
  checkKeys(input, ["op", "strength", "jitter", "draws", "marginal", "params"], where);
  if (typeof input.op !== "string" || !(input.op in operators))
    throw expected(`an operator (${[...operatorNames, "mix"].join(", ")})`, `${where}.op`, input.op);
  const name = input.op as OperatorName;
  if (input.params !== undefined && !isObject(input.params))
    throw expected("an object", `${where}.params`, input.params);
  const params = resolveParams(name, input.params ?? {}, `${where}.params`);
  if (input.marginal !== undefined && typeof input.marginal !== "boolean")
    throw expected("true or false", `${where}.marginal`, input.marginal);
  let strength = resolveStrength(input.strength, `${where}.strength`, ctx.frames);
  if (!Array.isArray(strength) && ctx.order === "chain")
    throw new ArgumentError(
      `${where}.strength: a velocity carries hidden state from frame to frame, so a chain cannot use one`,
    );
  if (input.marginal === true) strength = marginalToSteps(name, strength, where, ctx);
  return {
    op: name,
    strength,
    jitter: number(input.jitter, 0, 0, 1, `${where}.jitter`),
    draws: resolveDraws(input.draws, `${where}.draws`, ctx),
    params,
  };
}

// ***** schedules *****

/** Strengths of the T - 1 earlier frames, frame 1 first, from a number, a list or a schedule. */
function resolveStrength(v: unknown, where: string, frames: number): number[] | Velocity {
  const k = frames - 1;
  if (v === undefined) v = { schedule: "linear" };
  if (typeof v === "number") return Array<number>(k).fill(checkStrength(v, where));
  if (Array.isArray(v)) {
    if (v.length !== k) throw expected(`${k} strengths (frames 1 … ${frames - 1})`, where, v);
    return v.map((s, i) => checkStrength(s, `${where}[${i}]`));
  }
  if (!isObject(v)) throw expected("a number, a list or a schedule object", where, v);
  const kind = choice(
    v.schedule,
    ["linear", "cosine", "geometric", "velocity"] as const,
    "linear",
    `${where}.schedule`,
  );
  checkKeys(v, ["schedule", "min", "max"], where);
  if (kind === "velocity") {
    const min = checkStrength(v.min ?? 0, `${where}.min`);
    const max = checkStrength(v.max, `${where}.max`);
    if (min > max) throw new ArgumentError(`${where}: min ${min} is above max ${max}`);
    return { schedule: "velocity", min, max };
  }
  const max = v.max === undefined ? 1 : checkStrength(v.max, `${where}.max`);
  const min = v.min === undefined ? max / Math.max(1, k) : checkStrength(v.min, `${where}.min`);
  if (kind === "geometric" && (min <= 0 || max <= 0))
    throw expected("min and max above 0 for a geometric schedule", where, v.min ?? min);
  // u runs from 1 at frame 1 to 0 at frame T - 1.
  return Array.from({ length: k }, (_, i) => {
    const u = k === 1 ? 1 : (k - 1 - i) / (k - 1);
    if (kind === "geometric") return min * (max / min) ** u;
    const f = kind === "cosine" ? 1 - Math.cos((Math.PI / 2) * u) : u;
    return min + (max - min) * f;
  });
}

/** Marginal strengths of a chain's frames → the per-step strengths that produce them. */
function marginalToSteps(
  name: OperatorName,
  strength: number[] | Velocity,
  where: string,
  ctx: Context,
): number[] {
  const step = (operators[name] as { step?: (from: number, to: number) => number }).step;
  if (ctx.order !== "chain")
    throw new ArgumentError(`${where}.marginal applies only to chains (order "chain")`);
  if (!step)
    throw new ArgumentError(
      `${where}.marginal: ${name} steps do not compose; only noise and blur support marginal schedules`,
    );
  const s = strength as number[];
  for (let i = 0; i + 1 < s.length; i++) {
    if (s[i]! < s[i + 1]!)
      throw expected(
        "marginal strengths that never fall from frame T - 1 to frame 1",
        `${where}.strength`,
        s,
      );
  }
  return s.map((to, i) => step(i + 1 < s.length ? s[i + 1]! : 0, to));
}
