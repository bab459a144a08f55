// Time series from CSV files: one or several numeric columns, an optional timestamp column, split in time (the
// last `testFraction` of the points is the test part, so no test point precedes a training one), cut into
// windows of `length` points every `stride` points, and normalised per column with the mean and standard
// deviation of the training part. Those statistics come back with the windows, and passing them in (`stats`)
// normalises other data exactly as the training data were: what a model stores beside its weights.
//
// Built in: `seattle-temps` (hourly temperatures in °F, Seattle 2010, 8,759 points; Debian python3-vega-datasets)
// and `co2` (weekly Mauna Loa CO₂ in ppm, 1958–2001, 2,284 points of which 59 are missing and interpolated;
// Debian python3-statsmodels). Parsing takes milliseconds, so prepared windows are not cached.
import fs from "node:fs";
import path from "node:path";
import { DataError, expected, isPositiveInt } from "../../errors.js";

/** A multi-column time series: planar float32 values (C, L). */
export interface TimeSeries {
  /** The file it came from. */
  source: string;
  columns: string[];
  length: number;
  data: Float32Array;
  /** Milliseconds since the epoch (UTC) per point, when a timestamp column was read. */
  times: Float64Array | null;
  /** Missing values filled by linear interpolation. */
  filled: number;
}

export interface CsvSeriesOptions {
  /** Value columns by header name; default every column but the timestamp. */
  columns?: readonly string[];
  /** The timestamp column's name, or null for none (default). Timestamps must increase strictly. */
  timestamp?: string | null;
  /** An empty or NA cell: "error" (default, naming the line) or "interpolate" (linearly; ends take the nearest). */
  missing?: "error" | "interpolate";
}

/** Splits CSV text into rows of fields (RFC 4180 quoting: "a, b" and "" for a quote). */
function csvRows(text: string, file: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else {
        if (ch === "\n") line++;
        field += ch;
      }
    } else if (ch === '"' && field === "") quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      line++;
    } else field += ch;
  }
  if (quoted) throw new DataError(`${file}:${line}: a quoted field is not closed`);
  if (field !== "" || row.length) rows.push([...row, field]);
  return rows;
}

const TIME_RE = /^(\d{4})[-/]?(\d{2})[-/]?(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?)?Z?$/;

/** "2010/01/01 00:00", "2010-01-01T00:00:00Z", "19580329" and the like, as UTC milliseconds; NaN otherwise. */
function parseTime(s: string): number {
  const m = TIME_RE.exec(s.trim());
  if (!m) return NaN;
  const [y, mo, d, h, mi, sec] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v)));
  const ms = Date.UTC(y!, mo! - 1, d!, h, mi, Math.floor(sec!), Math.round((sec! % 1) * 1000));
  // Date.UTC rolls 2010-02-30 over to March: a field out of range is not a date.
  const back = new Date(ms);
  return back.getUTCMonth() === mo! - 1 && back.getUTCDate() === d ? ms : NaN;
}

const isMissing = (s: string) => /^\s*(|na|nan|null)\s*$/i.test(s);

/** Parses CSV text (`file` names it in errors) into a time series. */
export function parseCsvSeries(text: string, file: string, o: CsvSeriesOptions = {}): TimeSeries {
  const rows = csvRows(text, file).filter((r) => !(r.length === 1 && r[0]!.trim() === ""));
  if (rows.length < 2) throw new DataError(`${file}: needs a header line and at least one row`);
  const header = rows[0]!.map((h) => h.trim());
  const index = (name: string, what: string) => {
    const i = header.indexOf(name);
    if (i < 0)
      throw new DataError(
        `${file}: no ${what} column ${JSON.stringify(name)} (columns: ${header.join(", ")})`,
      );
    return i;
  };
  const timeAt = o.timestamp == null ? -1 : index(o.timestamp, "timestamp");
  const names = o.columns ?? header.filter((_, i) => i !== timeAt);
  if (names.length === 0) throw new DataError(`${file}: no value columns`);
  const cols = names.map((n) => index(n, "value"));
  const length = rows.length - 1;
  const data = new Float32Array(cols.length * length);
  const times = timeAt < 0 ? null : new Float64Array(length);
  let filled = 0;
  for (let t = 0; t < length; t++) {
    const row = rows[t + 1]!;
    const line = t + 2; // 1-based, after the header
    if (row.length !== header.length)
      throw new DataError(`${file}:${line}: ${row.length} fields, the header has ${header.length}`);
    if (times) {
      times[t] = parseTime(row[timeAt]!);
      if (Number.isNaN(times[t]))
        throw new DataError(`${file}:${line}: ${JSON.stringify(row[timeAt])} is not a timestamp`);
      if (t > 0 && times[t]! <= times[t - 1]!)
        throw new DataError(`${file}:${line}: timestamp ${row[timeAt]} does not come after the line before`);
    }
    cols.forEach((col, c) => {
      const cell = row[col]!;
      if (isMissing(cell)) {
        if (o.missing !== "interpolate")
          throw new DataError(
            `${file}:${line}: column ${names[c]} is empty (pass missing: "interpolate" to fill gaps)`,
          );
        data[c * length + t] = NaN;
        filled++;
        return;
      }
      const v = Number(cell);
      if (!Number.isFinite(v))
        throw new DataError(`${file}:${line}: column ${names[c]} is ${JSON.stringify(cell)}, not a number`);
      data[c * length + t] = v;
    });
  }
  for (let c = 0; c < cols.length; c++)
    interpolate(data.subarray(c * length, (c + 1) * length), file, names[c]!);
  return { source: file, columns: [...names], length, data, times, filled };
}

/** Fills NaNs in place linearly between their neighbours; leading and trailing ones take the nearest value. */
function interpolate(v: Float32Array, file: string, column: string): void {
  let prev = -1;
  for (let t = 0; t <= v.length; t++) {
    if (t < v.length && Number.isNaN(v[t])) continue;
    if (t === v.length && prev < 0) throw new DataError(`${file}: column ${column} has no values`);
    for (let g = prev + 1; g < t; g++)
      v[g] =
        prev < 0
          ? v[t]!
          : t === v.length
            ? v[prev]!
            : v[prev]! + ((v[t]! - v[prev]!) * (g - prev)) / (t - prev);
    prev = t;
  }
}

/** Reads a CSV file into a time series; a missing or bad file is a DataError naming it. */
export function readCsvSeries(file: string, o: CsvSeriesOptions = {}): TimeSeries {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new DataError(`Cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  return parseCsvSeries(text, file, o);
}

/** Per-column normalisation statistics. */
export interface SeriesStats {
  mean: number[];
  std: number[];
}

/** Windows (N, C, W), planar per window: window i, column c, step t is data[(i * C + c) * W + t]. */
export interface SeriesWindows {
  data: Float32Array;
  n: number;
  c: number;
  length: number;
  /** Each window's first point, as an index into the series. */
  starts: number[];
}

/** Mean and (population) standard deviation of each column over points [from, to). */
export function seriesStats(s: TimeSeries, from = 0, to = s.length): SeriesStats {
  const mean: number[] = [];
  const std: number[] = [];
  s.columns.forEach((name, c) => {
    const v = s.data.subarray(c * s.length + from, c * s.length + to);
    const m = v.reduce((a, x) => a + x, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, x) => a + (x - m) ** 2, 0) / v.length);
    if (!(sd > 0)) throw new DataError(`${s.source}: column ${name} is constant, it cannot be normalised`);
    mean.push(m);
    std.push(sd);
  });
  return { mean, std };
}

/** Normalised windows of `length` points every `stride` points within points [from, to). */
export function cutWindows(
  s: TimeSeries,
  stats: SeriesStats,
  length: number,
  stride: number,
  from = 0,
  to = s.length,
): SeriesWindows {
  if (!isPositiveInt(length)) throw expected("positive integer", "window length", length);
  if (!isPositiveInt(stride)) throw expected("positive integer", "window stride", stride);
  if (stats.mean.length !== s.columns.length)
    throw expected(`statistics of ${s.columns.length} columns`, "stats", `${stats.mean.length} columns`);
  if (to - from < length)
    throw new DataError(`${s.source}: ${to - from} points cannot hold a window of ${length}`);
  const starts: number[] = [];
  for (let at = from; at + length <= to; at += stride) starts.push(at);
  const c = s.columns.length;
  const data = new Float32Array(starts.length * c * length);
  starts.forEach((start, i) => {
    for (let ch = 0; ch < c; ch++) {
      const src = s.data.subarray(ch * s.length + start, ch * s.length + start + length);
      const dst = (i * c + ch) * length;
      for (let t = 0; t < length; t++) data[dst + t] = (src[t]! - stats.mean[ch]!) / stats.std[ch]!;
    }
  });
  return { data, n: starts.length, c, length, starts };
}

/** What a time-series data set is cut into, and how. */
export interface SeriesSetOptions {
  /** Points per window (default: the built-in's; 96 for files). */
  window?: number;
  /** Points between window starts (default: the built-in's; window / 4 for files). */
  stride?: number;
  /** The last fraction of the points held out as the test part (default 0.2). */
  testFraction?: number;
  /** Statistics to normalise with (default: the training part's). */
  stats?: SeriesStats;
}

export interface SeriesSet {
  name: string;
  series: TimeSeries;
  train: SeriesWindows;
  test: SeriesWindows;
  stats: SeriesStats;
  /** The seasonal period in points, for the seasonal-naive baseline (null: none known). */
  period: number | null;
}

interface BuiltinSeries {
  files: string[];
  csv: CsvSeriesOptions;
  window: number;
  stride: number;
  period: number;
}

// Defaults of each built-in set, in one place: a window holds several seasonal periods (8 days of hours, 4 years
// of weeks), and strides give some hundreds of training windows.
const builtins: Record<string, BuiltinSeries> = {
  "seattle-temps": {
    files: ["/usr/lib/python3/dist-packages/vega_datasets/_data/seattle-temps.csv"],
    csv: { columns: ["temp"], timestamp: "date" },
    window: 192,
    stride: 24,
    period: 24,
  },
  co2: {
    files: ["/usr/lib/python3/dist-packages/statsmodels/datasets/co2/co2.csv"],
    csv: { columns: ["co2"], timestamp: "date", missing: "interpolate" },
    window: 208,
    stride: 4,
    period: 52,
  },
};
const seriesDatasetNames = Object.keys(builtins);

/** `seattle-temps`, `co2` (found in $LASTFRAME_DATA, else where Debian installs them) or a CSV file. */
export function loadSeriesSet(nameOrFile: string, o: SeriesSetOptions & CsvSeriesOptions = {}): SeriesSet {
  const b = builtins[nameOrFile];
  let file = nameOrFile;
  if (b) {
    const env = process.env.LASTFRAME_DATA;
    const candidates = [...(env ? [path.join(env, `${nameOrFile}.csv`)] : []), ...b.files];
    const found = candidates.find((f) => fs.existsSync(f));
    if (!found)
      throw new DataError(
        `Data set ${nameOrFile} not found (looked for ${candidates.join(", ")}; bash scripts/setup.sh installs it)`,
      );
    file = found;
  } else if (!fs.existsSync(file)) {
    throw new DataError(
      `No data set or file ${JSON.stringify(nameOrFile)} (built in: ${seriesDatasetNames.join(", ")})`,
    );
  }
  const { columns, timestamp, missing, window, stride, testFraction = 0.2 } = o;
  const csv = b ? { ...b.csv } : {};
  if (columns) csv.columns = columns;
  if (timestamp !== undefined) csv.timestamp = timestamp;
  if (missing) csv.missing = missing;
  const series = readCsvSeries(file, csv);
  if (!(testFraction > 0 && testFraction < 1))
    throw expected("number in (0, 1)", "testFraction", testFraction);
  const w = window ?? b?.window ?? 96;
  const split = Math.round(series.length * (1 - testFraction));
  const stats = o.stats ?? seriesStats(series, 0, split);
  const s = stride ?? b?.stride ?? Math.max(1, Math.floor(w / 4));
  return {
    name: b ? nameOrFile : path.basename(file, path.extname(file)),
    series,
    train: cutWindows(series, stats, w, s, 0, split),
    test: cutWindows(series, stats, w, s, split, series.length),
    stats,
    period: b?.period ?? null,
  };
}
