// Modules are plain classes whose parameters are found by walking their properties (tinygrad-style): a Tensor
// property is a parameter unless registered as a buffer; Module properties and arrays of Modules nest. Property
// names become state-dict keys ("dec.3.prior.weight"), so they read the same from Python.
import { Tensor, keep, noGrad, tidy, CheckpointError } from "../tensor/index.js";

const bufferSet = new WeakSet<Tensor>();

export abstract class Module {
  training = true;

  /** Marks a tensor as a buffer (saved and loaded, never optimized), e.g. running statistics. */
  protected buffer(t: Tensor): Tensor {
    bufferSet.add(keep(t));
    return t;
  }
  /** Marks a tensor as a trainable parameter: kept alive outside scopes, requires grad. */
  protected param(t: Tensor): Tensor {
    return keep(t).requiresGrad_(true);
  }

  /** Child modules and tensors in property order, with their dotted paths. */
  *#walk(prefix: string): Generator<[string, Tensor | Module]> {
    for (const [key, value] of Object.entries(this)) {
      if (key === "training") continue;
      yield* visit(prefix + key, value);
    }
  }

  namedTensors(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, v] of this.#walk(prefix)) {
      if (v instanceof Module) out.push(...v.namedTensors(name + "."));
      else out.push([name, v]);
    }
    return out;
  }
  namedParameters(): [string, Tensor][] {
    return this.namedTensors().filter(([, t]) => !bufferSet.has(t));
  }
  namedBuffers(): [string, Tensor][] {
    return this.namedTensors().filter(([, t]) => bufferSet.has(t));
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }
  modules(): Module[] {
    const out: Module[] = [this];
    for (const [, v] of this.#walk("")) if (v instanceof Module) out.push(...v.modules());
    return out;
  }
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.numel, 0);
  }

  train(on = true): this {
    for (const m of this.modules()) m.training = on;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Parameters and buffers by name: the tensors themselves, not copies. */
  stateDict(): Map<string, Tensor> {
    return new Map(this.namedTensors());
  }

  /**
   * Copies tensors into this module's parameters and buffers. Strict by default: a missing or unexpected key,
   * or a shape mismatch, is a CheckpointError naming the key and both shapes.
   */
  loadStateDict(state: Map<string, Tensor>, opts: { strict?: boolean; source?: string } = {}): void {
    const strict = opts.strict ?? true;
    const where = opts.source ? ` in ${opts.source}` : "";
    const own = this.stateDict();
    if (strict) {
      const missing = [...own.keys()].filter((k) => !state.has(k));
      const unexpected = [...state.keys()].filter((k) => !own.has(k));
      if (missing.length || unexpected.length)
        throw new CheckpointError(
          `state dict does not match the model${where}: ` +
            [
              missing.length ? `missing ${missing.join(", ")}` : "",
              unexpected.length ? `unexpected ${unexpected.join(", ")}` : "",
            ]
              .filter(Boolean)
              .join("; "),
        );
    }
    noGrad(() => {
      for (const [name, target] of own) {
        const src = state.get(name);
        if (!src) continue;
        const a = target.shape.join(","),
          b = src.shape.join(",");
        if (a !== b)
          throw new CheckpointError(`shape mismatch for ${name}${where}: model has [${a}], file has [${b}]`);
        tidy(() => target.copy_(src.dtype === target.dtype ? src : src.to(target.dtype)));
      }
    });
  }

  /** Frees every parameter and buffer. */
  dispose(): void {
    for (const [, t] of this.namedTensors()) t.dispose();
  }
}

function* visit(path: string, value: unknown): Generator<[string, Tensor | Module]> {
  if (value instanceof Tensor || value instanceof Module) yield [path, value];
  else if (Array.isArray(value))
    for (let i = 0; i < value.length; i++) yield* visit(`${path}.${i}`, value[i]);
}
