// Model families by name, for the CLI and the experiment suites. A new family adds one import and one entry.
import { ArgumentError } from "../errors.js";
import { ddpmFamily } from "./ddpm.js";
import { hvaeFamily } from "./hvae.js";
import type { ModelFamily } from "./model.js";
import { vqFamily } from "./vq.js";

const families: ModelFamily<any>[] = [hvaeFamily, vqFamily, ddpmFamily];

export function getFamily(name: string): ModelFamily {
  const f = families.find((x) => x.name === name);
  if (!f)
    throw new ArgumentError(
      `Unknown model ${JSON.stringify(name)}. Valid models: ${familyNames().join(", ")}`,
    );
  return f;
}

export function familyNames(): string[] {
  return families.map((f) => f.name);
}

/** Adds a family defined outside lastframe (plugins, tests); its name must be new. */
export function registerFamily(family: ModelFamily<any>): void {
  if (families.some((f) => f.name === family.name))
    throw new ArgumentError(`A model family named ${JSON.stringify(family.name)} is already registered`);
  families.push(family);
}
