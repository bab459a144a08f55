// Model families by name, for the CLI and the experiment suites. A new family adds one import and one entry.
import { ArgumentError } from "../tensor/errors.js";
import type { ModelFamily } from "./model.js";

const families: ModelFamily<any>[] = [];

export function getFamily(name: string): ModelFamily {
  const f = families.find((x) => x.name === name);
  if (!f) throw new ArgumentError(`Unknown model ${JSON.stringify(name)}. Valid models: ${familyNames().join(", ")}`);
  return f;
}

export function familyNames(): string[] {
  return families.map((f) => f.name);
}
