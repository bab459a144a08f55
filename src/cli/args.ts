// A small typed flag parser shared by every command: each command declares its flags once (type, default,
// help), and unknown flags, missing values and wrong types are UsageErrors naming the flag.
import { ArgumentError } from "../errors.js";

export class UsageError extends ArgumentError {
  override name = "UsageError";
}

export type FlagType = "string" | "int" | "number" | "boolean" | "list";

export interface FlagSpec {
  type: FlagType;
  help: string;
  default?: string | number | boolean | string[];
  short?: string;
  /** For string flags: the allowed values. */
  choices?: readonly string[];
  /** For output files: the extension the written format has (".png"), checked before any work is done. */
  ext?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<S extends FlagSpec> = S["type"] extends "int" | "number"
  ? number
  : S["type"] extends "boolean"
    ? boolean
    : S["type"] extends "list"
      ? string[]
      : string;

export type Parsed<S extends FlagSpecs> = {
  [K in keyof S]: S[K]["default"] extends undefined ? ValueOf<S[K]> | undefined : ValueOf<S[K]>;
} & {
  _: string[];
  /** Flags the user actually gave (for config merging: given flags override a config file). */
  given: Set<string>;
};

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
/** A flag's key as the user types it: topK → --top-k. */
export const flagName = (key: string) => `--${kebab(key)}`;

function convert(flag: string, spec: FlagSpec, raw: string): string | number | string[] {
  switch (spec.type) {
    case "int": {
      const v = Number(raw);
      if (raw.trim() === "" || !Number.isInteger(v))
        throw new UsageError(`Expected integer for --${flag} but received ${JSON.stringify(raw)}`);
      return v;
    }
    case "number": {
      const v = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(v))
        throw new UsageError(`Expected number for --${flag} but received ${JSON.stringify(raw)}`);
      return v;
    }
    case "list":
      return raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      if (spec.choices && !spec.choices.includes(raw))
        throw new UsageError(
          `Expected one of ${spec.choices.join(", ")} for --${flag} but received ${JSON.stringify(raw)}`,
        );
      if (spec.ext && !raw.toLowerCase().endsWith(spec.ext))
        throw new UsageError(
          `Expected a ${spec.ext} file for --${flag} (it is written in that format) but received ${JSON.stringify(raw)}`,
        );
      return raw;
  }
}

function parseFlags<S extends FlagSpecs>(argv: string[], specs: S, command: string): Parsed<S> {
  const byFlag = new Map<string, [keyof S & string, FlagSpec]>();
  for (const [key, spec] of Object.entries(specs)) {
    byFlag.set(kebab(key), [key, spec]);
    if (spec.short) byFlag.set(spec.short, [key, spec]);
  }
  const out: Record<string, unknown> = { _: [], given: new Set<string>() };
  for (const [key, spec] of Object.entries(specs))
    out[key] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("-") || arg === "-") {
      (out._ as string[]).push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const negated = name.startsWith("no-") && byFlag.get(name.slice(3))?.[1].type === "boolean";
    const entry = byFlag.get(negated ? name.slice(3) : name);
    if (!entry) {
      const known = [...byFlag.keys()].filter((k) => k.length > 1).map((k) => "--" + k);
      throw new UsageError(
        `Unknown flag --${name} for 'lastframe ${command}'. Valid flags: ${known.join(", ")}`,
      );
    }
    const [key, spec] = entry;
    (out.given as Set<string>).add(key);
    if (spec.type === "boolean") {
      out[key] = eq >= 0 ? body.slice(eq + 1) !== "false" : !negated;
      continue;
    }
    const raw = eq >= 0 ? body.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new UsageError(`Expected a value after --${kebab(key)}`);
    out[key] = convert(kebab(key), spec, raw);
  }
  return out as Parsed<S>;
}

function helpText(command: string, usage: string, summary: string, specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([key, s]) => {
    const flag = `--${kebab(key)}${s.type === "boolean" ? "" : ` <${s.type === "list" ? "a,b,…" : s.type}>`}`;
    const def =
      s.default === undefined || s.default === false
        ? ""
        : ` (default: ${Array.isArray(s.default) ? s.default.join(",") : s.default})`;
    const choices = s.choices ? ` [${s.choices.join("|")}]` : "";
    return `  ${flag.padEnd(30)} ${s.help}${choices}${def}`;
  });
  return [`Usage: lastframe ${command} ${usage}`, "", summary, "", "Options:", ...rows].join("\n");
}

/** What a command declares once: its name, usage line, one-line summary and flags (`--help` is added). */
export interface CommandSpec<S extends FlagSpecs> {
  name: string;
  usage: string;
  summary: string;
  flags: S;
  /** More help after the flags (e.g. the operators of a spec, the bench cases). */
  more?: () => string;
}

const helpFlag = { type: "boolean", help: "show this help", default: false } as const satisfies FlagSpec;

/** Parses a command's arguments; with --help it prints the help and returns null (the command then returns). */
export function parseCommand<S extends FlagSpecs>(argv: string[], spec: CommandSpec<S>): Parsed<S> | null {
  const specs = { ...spec.flags, help: helpFlag };
  const f = parseFlags(argv, specs, spec.name);
  if (f.help) {
    console.log(helpText(spec.name, spec.usage, spec.summary, specs));
    if (spec.more) console.log(spec.more());
    return null;
  }
  return f as unknown as Parsed<S>;
}
