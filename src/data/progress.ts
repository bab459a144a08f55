// A small progress reporter for long loops (data preparation, training), written to stderr by default.
//
//   const bar = new Progress({ total: 60000, label: "cifar10", unit: "img" });
//   for (...) bar.tick(1, { loss: 0.123 });   // or bar.update(step, fields)
//   bar.done();
//
// On a TTY it redraws one line (at most every `intervalMs`):  label [=====>     ] 1,234/60,000 2.1k img/s ETA 0:27 loss=0.123
// Elsewhere (CI logs, pipes) it prints the same text as a plain line every `logIntervalMs`, and once at the end.
// The rate is measured over the last `windowMs` (so it follows speed changes); the ETA uses that rate. Without a
// `total` there is no bar or ETA. Fields are free-form `key=value` pairs; numbers are shown with 4 significant
// digits.

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  total?: number;
  label?: string;
  /** Unit for the rate, e.g. "img", "step" (default "it"). */
  unit?: string;
  stream?: ProgressStream;
  /** false: print nothing (default true). */
  enabled?: boolean;
  /** Force TTY (redrawn line) or plain-line mode; default: the stream's isTTY. */
  tty?: boolean;
  intervalMs?: number;
  logIntervalMs?: number;
  windowMs?: number;
  /** Clock in ms, for tests (default performance.now). */
  now?: () => number;
}

export type ProgressFields = Record<string, string | number | undefined>;

/** Formats seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Formats a count compactly: 950, 9.5k, 12.3M. */
export function formatCount(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(a >= 1e10 ? 0 : 1)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(a >= 1e5 ? 0 : 1)}k`;
  if (a >= 100 || Number.isInteger(v)) return v.toFixed(0);
  return v.toPrecision(3);
}

function formatField(v: string | number): string {
  if (typeof v === "string") return v;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? String(Number(v.toPrecision(4))) : v.toExponential(3);
}

export class Progress {
  readonly total: number | undefined;
  private step = 0;
  private fields: ProgressFields = {};
  private readonly label: string;
  private readonly unit: string;
  private readonly stream: ProgressStream;
  private readonly enabled: boolean;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly logIntervalMs: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly start: number;
  private lastDraw = -Infinity;
  private lastWidth = 0;
  private samples: { t: number; step: number }[] = [];
  private finished = false;

  constructor(opts: ProgressOptions = {}) {
    this.total = opts.total;
    this.label = opts.label ?? "";
    this.unit = opts.unit ?? "it";
    this.stream = opts.stream ?? process.stderr;
    this.enabled = opts.enabled ?? true;
    this.tty = opts.tty ?? this.stream.isTTY === true;
    this.intervalMs = opts.intervalMs ?? 100;
    this.logIntervalMs = opts.logIntervalMs ?? 10_000;
    this.windowMs = opts.windowMs ?? 10_000;
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
    this.lastDraw = this.tty ? -Infinity : this.start;
    this.samples.push({ t: this.start, step: 0 });
  }

  /** Current step. */
  get value(): number {
    return this.step;
  }

  /** Advances by `n` steps. */
  tick(n = 1, fields?: ProgressFields): void {
    this.update(this.step + n, fields);
  }

  /** Sets the current step (and merges `fields`), redrawing if due. */
  update(step: number, fields?: ProgressFields): void {
    this.step = step;
    if (fields) Object.assign(this.fields, fields);
    const t = this.now();
    const last = this.samples[this.samples.length - 1]!;
    if (t - last.t >= 200) {
      this.samples.push({ t, step });
      while (this.samples.length > 2 && t - this.samples[1]!.t > this.windowMs) this.samples.shift();
    }
    if (!this.enabled || this.finished) return;
    if (t - this.lastDraw >= (this.tty ? this.intervalMs : this.logIntervalMs)) this.draw(t);
  }

  /** Steps per second over the recent window (overall average early on). */
  rate(t = this.now()): number {
    const first = this.samples[0]!;
    const dt = (t - first.t) / 1000;
    return dt > 0 ? (this.step - first.step) / dt : 0;
  }

  /** Seconds since the start. */
  elapsed(t = this.now()): number {
    return (t - this.start) / 1000;
  }

  /** The status text (without bar when `withBar` is false). */
  render(t = this.now(), width = 80, withBar = true): string {
    const rate = this.rate(t);
    const parts: string[] = [];
    if (this.label) parts.push(this.label);
    const counter =
      this.total !== undefined
        ? `${this.step.toLocaleString("en-US")}/${this.total.toLocaleString("en-US")}`
        : this.step.toLocaleString("en-US");
    const tail: string[] = [counter, `${formatCount(rate)} ${this.unit}/s`];
    if (this.finished) tail.push(`in ${formatDuration(this.elapsed(t))}`);
    else if (this.total !== undefined && rate > 0)
      tail.push(`ETA ${formatDuration((this.total - this.step) / rate)}`);
    for (const [k, v] of Object.entries(this.fields))
      if (v !== undefined) tail.push(`${k}=${formatField(v)}`);
    const rest = tail.join(" ");
    if (withBar && this.total !== undefined && this.total > 0) {
      const used = parts.join(" ").length + rest.length + 4;
      const barWidth = Math.max(0, Math.min(30, width - used - 1));
      if (barWidth >= 5) {
        const frac = Math.max(0, Math.min(1, this.step / this.total));
        const full = Math.floor(frac * barWidth);
        const bar = "=".repeat(full) + (full < barWidth ? ">" + " ".repeat(barWidth - full - 1) : "");
        parts.push(`[${bar}]`);
      }
    }
    parts.push(rest);
    return parts.join(" ");
  }

  private draw(t: number): void {
    this.lastDraw = t;
    if (this.tty) {
      const width = this.stream.columns ?? 80;
      let line = this.render(t, width);
      if (line.length > width - 1) line = line.slice(0, width - 1);
      const pad = this.lastWidth > line.length ? " ".repeat(this.lastWidth - line.length) : "";
      this.lastWidth = line.length;
      this.stream.write(`\r${line}${pad}`);
    } else {
      this.stream.write(`${this.render(t, 80, false)}\n`);
    }
  }

  /** Prints a message without breaking the TTY line (the bar is redrawn on the next update). */
  log(message: string): void {
    if (!this.enabled) return;
    if (this.tty && this.lastWidth > 0) {
      this.stream.write(`\r${" ".repeat(this.lastWidth)}\r`);
      this.lastWidth = 0;
      this.lastDraw = -Infinity;
    }
    this.stream.write(`${message}\n`);
  }

  /** Final line (always printed when enabled); later updates are ignored. */
  done(fields?: ProgressFields): void {
    if (this.finished) return;
    if (fields) Object.assign(this.fields, fields);
    this.finished = true;
    if (!this.enabled) return;
    const t = this.now();
    // Use the overall rate for the summary.
    this.samples = [{ t: this.start, step: 0 }];
    if (this.tty) {
      this.draw(t);
      this.stream.write("\n");
    } else this.draw(t);
  }
}
