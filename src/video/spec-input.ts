// What users write for a pseudo-video spec (every key optional, schedules unresolved), apart from the resolved
// VideoSpec that spec.ts makes of it. Its own file so that presets.ts, which spec.ts imports, can use these types
// without importing spec.ts back.
import type { OperatorName } from "./operators.js";

export type DrawMode = "frame" | "video";
export type Order = "direct" | "chain";

/** What users write: every key optional, schedules unresolved. */
export type StrengthInput =
  | number
  | number[]
  | { schedule?: "linear" | "cosine" | "geometric" | "velocity"; min?: number; max?: number };
export interface OpInput {
  op: OperatorName;
  strength?: StrengthInput;
  jitter?: number;
  draws?: DrawMode;
  marginal?: boolean;
  params?: Record<string, number | string>;
}
export interface MixInput {
  op: "mix";
  of: OpInput[];
  weights?: number[];
  draws?: DrawMode;
}
export interface SpecInput {
  name?: string;
  frames?: number;
  order?: Order;
  ops?: (OpInput | MixInput)[];
  shuffle?: boolean;
}
