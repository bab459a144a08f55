// Deterministic memory management, tfjs-style: tidy(fn) frees every tensor created inside fn except what fn
// returns or keep()s. Bodies must be synchronous. Tensors created outside any scope are freed by dispose() or,
// as a safety net, by the GC finalizer of their native handle.

interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
  /**
   * Called once the object belongs to no scope (made outside one, kept, or returned by the outermost tidy):
   * only such objects can leak, so only they need to tell the GC what they hold.
   */
  unscoped?(): void;
}

const scopes: Set<Disposable>[] = [];

/** Registers a new tensor with the innermost scope, or marks it unscoped outside scopes. */
export function track<T extends Disposable>(t: T): T {
  const top = scopes[scopes.length - 1];
  if (top) top.add(t);
  else t.unscoped?.();
  return t;
}

/** Exempts a tensor from every enclosing scope: it lives until disposed explicitly. */
export function keep<T extends Disposable>(t: T): T {
  for (const s of scopes) s.delete(t);
  t.unscoped?.();
  return t;
}

function collect(value: unknown, into: Set<Disposable>, seen: Set<unknown>): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if (typeof (value as Disposable).dispose === "function" && "isDisposed" in (value as object)) {
    into.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, into, seen);
  else if (value instanceof Map) for (const v of value.values()) collect(v, into, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype)
    for (const v of Object.values(value)) collect(v, into, seen);
}

export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new Error("tidy: the body must be synchronous (await outside the scope)");
  }
  const out = new Set<Disposable>();
  collect(result, out, new Set());
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (!out.has(t)) t.dispose();
    else if (parent) parent.add(t);
    else t.unscoped?.();
  }
  return result;
}

/** Disposes every tensor found in a value (tensor, array, Map or plain object, nested). */
export function dispose(value: unknown): void {
  const found = new Set<Disposable>();
  collect(value, found, new Set());
  for (const t of found) t.dispose();
}

/**
 * Resolves on the event loop's next turn, where Node runs the native finalizers of the handles the GC has
 * collected. Node 20 queues a Node-API finalizer for a later setImmediate instead of running it in the GC, so a
 * loop that never awaits keeps every handle it ever made (a few hundred bytes each after dispose(), the tensor's
 * memory being freed already): the tiny HVAE's training steps grew resident memory by 0.3 MB a step. Long loops
 * (training steps, repeated sampling) await this now and then.
 */
export function releaseHandles(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
