// The one hyperparameter resolver every model family uses (openai/vdvae's named hparam sets): a named preset,
// then the given keys on top. An unknown preset or key is an error that lists the valid ones; a value of another
// type than the default's is an error naming the key; the family's own `validate` then checks values and ranges.
import { ArgumentError, expected } from "../errors.js";

export function resolveHps<C extends object>(
  family: string,
  presets: Record<string, C>,
  defaults: C,
  partial: object,
  preset: string,
  validate: (cfg: C) => C,
): C {
  const base = presets[preset];
  if (!base)
    throw new ArgumentError(
      `Unknown preset ${JSON.stringify(preset)} for model ${family}. Valid presets: ${Object.keys(presets).join(", ")}`,
    );
  const cfg = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(partial)) {
    if (!(k in defaults))
      throw new ArgumentError(
        `Unknown ${family} hyperparameter ${JSON.stringify(k)}. Valid: ${Object.keys(defaults).join(", ")}`,
      );
    const want = typeof (defaults as Record<string, unknown>)[k];
    if (typeof v !== want) throw expected(want, `hps.${k}`, v);
    cfg[k] = v;
  }
  return validate(cfg as unknown as C);
}
