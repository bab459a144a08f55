// The noise schedule of a DDPM (Ho et al. 2020) in float64 numbers, shared by training, sampling and the bound:
// β_t for t = 1 … N, ᾱ_t = Π_{s ≤ t} (1 − β_s), so q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I), and the posterior
// q(x_{t−1} | x_t, x_0) = N(c0_t x_0 + ct_t x_t, β̃_t I) with β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t).
// "linear" is Ho et al.'s β from 1e-4 to 0.02 (scaled by 1000 / N, as improved-diffusion does, so other N keep
// its shape); "cosine" is Nichol & Dhariwal 2021's ᾱ_t = f(t) / f(0), f(t) = cos²((t/N + s)/(1 + s) · π/2),
// s = 0.008, with β clipped at 0.999.
import { expected, isPositiveInt } from "../errors.js";

export const scheduleKinds = ["linear", "cosine"] as const;
export type ScheduleKind = (typeof scheduleKinds)[number];

export interface Schedule {
  /** Index i = t − 1 for t = 1 … N. */
  betas: Float64Array;
  alphaBars: Float64Array;
  /** β̃_t, the posterior variance; β̃_1 = 0. */
  posteriorVariance: Float64Array;
  /** The posterior mean's coefficients of x_0 and of x_t. */
  posteriorX0: Float64Array;
  posteriorXt: Float64Array;
}

function makeBetas(kind: ScheduleKind, steps: number): Float64Array {
  if (!isPositiveInt(steps)) throw expected("positive integer", "hps.timesteps", steps);
  const betas = new Float64Array(steps);
  if (kind === "linear") {
    const scale = 1000 / steps;
    const lo = scale * 1e-4,
      hi = scale * 0.02;
    for (let i = 0; i < steps; i++) betas[i] = steps === 1 ? lo : lo + ((hi - lo) * i) / (steps - 1);
    return betas;
  }
  if (kind === "cosine") {
    const f = (t: number): number => Math.cos(((t / steps + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    for (let i = 0; i < steps; i++) betas[i] = Math.min(1 - f(i + 1) / f(i), 0.999);
    return betas;
  }
  throw expected(`one of ${scheduleKinds.join(", ")}`, "hps.schedule", kind);
}

export function makeSchedule(kind: ScheduleKind, steps: number): Schedule {
  const betas = makeBetas(kind, steps);
  const n = betas.length;
  const alphaBars = new Float64Array(n);
  const posteriorVariance = new Float64Array(n);
  const posteriorX0 = new Float64Array(n);
  const posteriorXt = new Float64Array(n);
  let prod = 1;
  for (let i = 0; i < n; i++) {
    const prev = prod;
    prod *= 1 - betas[i]!;
    alphaBars[i] = prod;
    posteriorVariance[i] = (betas[i]! * (1 - prev)) / (1 - prod);
    posteriorX0[i] = (betas[i]! * Math.sqrt(prev)) / (1 - prod);
    posteriorXt[i] = ((1 - prev) * Math.sqrt(1 - betas[i]!)) / (1 - prod);
  }
  return { betas, alphaBars, posteriorVariance, posteriorX0, posteriorXt };
}

/**
 * The K timesteps (1-based, descending) a DDIM sampler visits out of N: evenly spaced, always ending at 1, so
 * K = N visits every step.
 */
export function ddimTimesteps(total: number, k: number): number[] {
  if (!isPositiveInt(k) || k > total) throw expected(`an integer in 1 … ${total}`, "--steps", k);
  const out: number[] = [];
  for (let j = k - 1; j >= 0; j--) out.push(1 + Math.floor((j * total) / k));
  return out;
}
