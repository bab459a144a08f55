// `lastframe tune`: designs a pseudo-video spec for a data set and model family. Three steps, each resumable:
//   1. proxies   `points` specs drawn from the search space, plus the baselines and references, scored by the
//                zero-training proxies (proxies.ts) on held-out training images: proxies.json
//   2. halving   the `train` best points by one proxy, the RandAugment grid, TrivialAugment, the hand-written
//                `expressive` and the image model (`none`) train short runs; successive halving (halving.ts)
//                promotes the best 1/η by validation last_bpd_given_true (the image's bits given the true
//                earlier frames, on the held-out split) to the next rung, where their runs go on training
//   3. FD        the candidates of the final rung are sampled and scored (feature-net FD)
// The VQ family trains its candidates' priors on one shared clean-image tokenizer (as the compare suite does),
// so their bits per code compare. Everything lands in the tune's folder:
//   <out>/tune.json            the settings; a resume must repeat them
//   <out>/proxies.json         every scored spec with its proxies
//   <out>/runs/<candidate>/    run folders (resumed, and trained longer at each promotion)
//   <out>/leaderboard.json|md  rewritten after every finished run: a kill loses at most the run in progress
//   <out>/best-spec.json       the best candidate's spec, a spec file for `train --spec` and `video --spec`
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import { ArgumentError, DataError, expected } from "../errors.js";
import { loadDataset } from "../data/index.js";
import { evaluate } from "../eval/evaluate.js";
import { ensureTokenizer, runChild, tokenizerPath } from "../experiments/runner.js";
import { markdownTable } from "../report/markdown.js";
import { type Tensor, dispose, fromTyped, tidy } from "../tensor/index.js";
import { type RunInput, readMetrics, train } from "../train/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import { type OpTerm, type VideoSpec, parseSpec } from "../video/index.js";
import { promote, rungSizes } from "./halving.js";
import { type ProxyName, type ProxyScore, proxyNames, rankBy, scoreSpec, spearman } from "./proxies.js";
import { type SearchSpace, parseSpace, randAugmentSpec, samplePoint, trivialAugmentSpec } from "./space.js";

export interface TuneBudget {
  /** The model preset of every run. */
  preset: string;
  /** Points of the space scored by the proxies, on this many held-out images, `draws` videos each. */
  points: number;
  proxyImages: number;
  draws: number;
  /** The best points by the proxy that enter the halving, beside the baselines and references. */
  train: number;
  /** RandAugment's grid: operators per frame × magnitudes. */
  grid: { n: number[]; m: number[] };
  /** Total updates of a candidate's run at each rung (increasing), and the fraction 1/eta kept per rung. */
  rungs: number[];
  eta: number;
  batch: number;
  /** Images per split (null: all), the last `validation` training images held out, FD samples at the end. */
  limit: number | null;
  validation: number;
  fdSamples: number;
}

export const tuneBudgets: Record<string, TuneBudget> = {
  smoke: {
    preset: "tiny",
    points: 6,
    proxyImages: 32,
    draws: 2,
    train: 2,
    grid: { n: [1, 2], m: [0.5] },
    rungs: [3, 6],
    eta: 2,
    batch: 8,
    limit: 256,
    validation: 32,
    fdSamples: 64,
  },
  // Hundreds of points ranked in minutes; 11 candidates × 100 updates, the best 4 to 300 and FD on 2,000 samples.
  quick: {
    preset: "tiny",
    points: 200,
    proxyImages: 256,
    draws: 2,
    train: 4,
    grid: { n: [1, 2], m: [0.3, 0.6] },
    rungs: [100, 300],
    eta: 3,
    batch: 32,
    limit: null,
    validation: 1000,
    fdSamples: 2000,
  },
};

export interface TuneOptions {
  data: string;
  model: string;
  /** A space preset or a .json file. */
  space: string;
  budget: string;
  out: string;
  seed: number;
  /** The proxy that picks which points train. */
  proxy: ProxyName;
  /** Runs trained at once within a rung, each in a child process with its share of the threads. */
  jobs: number;
  /** In a child: train just this candidate to this rung (0-based), writing no leaderboard. */
  only?: { id: string; rung: number };
  output: "bar" | "quiet";
  log: (s: string) => void;
}

type Kind = "searched" | "randaugment" | "trivialaugment" | "reference";

interface Candidate {
  id: string;
  kind: Kind;
  spec: VideoSpec;
}

export interface Entry {
  id: string;
  kind: Kind;
  spec: VideoSpec;
  proxies: Record<ProxyName, number>;
  /** Validation last_bpd_given_true after each rung's updates (null: the run failed). */
  rungs: { steps: number; bpd: number | null; seconds: number }[];
  fd?: number;
}

export interface Leaderboard {
  settings: Settings;
  /** Best first: furthest rung, then FD, then the last rung's bpd. */
  entries: Entry[];
  /** Spearman's correlation over trained candidates of each proxy with -bpd after the first rung and -FD. */
  correlations: Record<ProxyName, { bpd: number | null; fd: number | null }>;
  best: string | null;
  /** Seconds of each step (the VQ family's shared tokenizer apart), the candidates' updates, the machine. */
  compute: {
    proxySeconds: number;
    tokenizerSeconds: number;
    trainSeconds: number;
    fdSeconds: number;
    updates: number;
    hardware: string;
    /** Threads each run trained with in this invocation. */
    threadsPerRun: number;
  };
  finished: boolean;
}

interface Settings {
  data: string;
  model: string;
  space: SearchSpace;
  budget: string;
  seed: number;
  proxy: ProxyName;
}

const thisMachine = () => `${cpus().length} × ${cpus()[0]?.model.trim() ?? "CPU"}`;

/** The candidates besides searched points: the RandAugment grid, TrivialAugment, expressive, the image model. */
function fixedCandidates(space: SearchSpace, budget: TuneBudget): Candidate[] {
  const t = space.frames[0]!;
  const of = (kind: Kind, spec: VideoSpec): Candidate => ({ id: spec.name, kind, spec });
  return [
    ...budget.grid.n.flatMap((n) =>
      budget.grid.m.map((m) => of("randaugment", randAugmentSpec(space, n, m))),
    ),
    of("trivialaugment", trivialAugmentSpec(space)),
    of("reference", parseSpec("expressive", t)),
    of("reference", parseSpec("none", t)),
  ];
}

/** The held-out training images (the runs' validation split) as floats (N, C, H, W) in [-1, 1]. */
async function proxyImages(o: TuneOptions, budget: TuneBudget): Promise<Tensor> {
  const data = await loadDataset(o.data, { limit: budget.limit ?? undefined, progress: o.output === "bar" });
  const set = data.train;
  const n = Math.min(budget.proxyImages, budget.validation);
  if (set.n < budget.validation + budget.batch)
    throw new ArgumentError(
      `${o.data} has ${set.n} training images; the ${o.budget} budget holds out ${budget.validation}`,
    );
  const per = set.c * set.h * set.w;
  const bytes = set.images.subarray((set.n - n) * per, set.n * per);
  return tidy(() => fromTyped(bytes, [n, set.c, set.h, set.w]).to("float32").div(127.5).sub(1));
}

/** proxies.json: every scored spec (the space's points first, then the fixed candidates) and its scores. */
interface ProxyFile {
  specs: VideoSpec[];
  scores: ProxyScore[];
  seconds: number;
}

/** Step 1: proxies.json, computed once. */
async function scoreCandidates(o: TuneOptions, budget: TuneBudget, space: SearchSpace): Promise<ProxyFile> {
  const path = join(o.out, "proxies.json");
  if (existsSync(path)) return JSON.parse(readFileSync(path, "utf8")) as ProxyFile;
  const t0 = performance.now();
  const specs = [
    ...Array.from({ length: budget.points }, (_, i) => samplePoint(space, o.seed, i)),
    ...fixedCandidates(space, budget).map((c) => c.spec),
  ];
  const images = await proxyImages(o, budget);
  let scores: ProxyScore[];
  try {
    scores = specs.map((spec, i) => {
      const s = scoreSpec(images, spec, { draws: budget.draws, seed: o.seed });
      if ((i + 1) % 25 === 0 || i + 1 === specs.length)
        o.log(`proxies: ${i + 1}/${specs.length} specs scored`);
      return s;
    });
  } finally {
    dispose(images);
  }
  const result: ProxyFile = { specs, scores, seconds: (performance.now() - t0) / 1000 };
  writeFileAtomic(path, JSON.stringify(result) + "\n");
  return result;
}

/** The run a candidate trains up to `steps` updates. */
function runInput(c: Candidate, steps: number, budget: TuneBudget, o: TuneOptions): RunInput {
  const vq = o.model === "vqvae";
  return {
    model: o.model,
    preset: budget.preset,
    data: { name: o.data, limit: budget.limit, validation: budget.validation },
    spec: c.spec,
    frames: c.spec.frames,
    train: {
      seed: o.seed,
      steps,
      batch: budget.batch,
      selectBest: true,
      ...(vq ? { stageSteps: { vqvae: 0 } } : {}),
    },
    // One evaluation per first-rung length, so that every rung ends on one; the eval images are the held-out ones' count.
    log: {
      evalEvery: budget.rungs[0]!,
      evalImages: budget.validation,
      sampleEvery: budget.rungs[budget.rungs.length - 1]!,
      sampleN: 16,
    },
    ...(vq ? { init: { from: tokenizerPath(o.out, o.seed), modules: ["vqvae."] } } : {}),
  };
}

/** Trains a candidate to `steps` updates, continuing its run; false if it failed (diverged, say). */
async function trainTo(c: Candidate, steps: number, budget: TuneBudget, o: TuneOptions): Promise<boolean> {
  try {
    await train(runInput(c, steps, budget, o), join(o.out, "runs", c.id), {
      resume: true,
      output: o.output,
      log: o.log,
    });
    return true;
  } catch (err) {
    // A candidate that diverges is out of the running, not the end of the tune; a user mistake still is.
    if (err instanceof ArgumentError) throw err;
    o.log(
      `${c.id}: training failed on the way to ${steps} updates (${(err as Error).message.split("\n")[0]})`,
    );
    return false;
  }
}

/** A candidate's validation last_bpd_given_true after `steps` updates, from its run's metrics.jsonl. */
function rungScore(o: TuneOptions, id: string, steps: number): number | null {
  const v = readMetrics(join(o.out, "runs", id)).filter((r) => r.type === "validation" && r.step === steps);
  const bpd = v[v.length - 1]?.last_bpd_given_true;
  return typeof bpd === "number" && Number.isFinite(bpd) ? bpd : null;
}

/** This process's threads, shared between `jobs` runs at once. */
const threadsPerRun = (jobs: number) =>
  Math.max(1, Math.floor((Number(process.env.LASTFRAME_THREADS) || availableParallelism()) / jobs));

/** `lastframe tune` arguments that make a child train one candidate to one rung. */
function childArgs(o: TuneOptions, id: string, rung: number): string[] {
  const args = ["tune", "--data", o.data, "--model", o.model, "--space", o.space, "--budget", o.budget];
  args.push("--out", o.out, "--seed", String(o.seed), "--proxy", o.proxy, "--quiet");
  return [...args, "--only", id, "--rung", String(rung)];
}

/**
 * Trains every candidate in `ids` to rung `r` (in `jobs` children at a time when jobs > 1), calling `done` with
 * each one's score and seconds as soon as it is finished. A child that fails with a user mistake stops the tune.
 */
async function trainRung(
  ids: string[],
  r: number,
  candidates: Map<string, Candidate>,
  budget: TuneBudget,
  o: TuneOptions,
  done: (id: string, bpd: number | null, seconds: number) => void,
): Promise<void> {
  const steps = budget.rungs[r]!;
  const perChild = threadsPerRun(o.jobs);
  const queue = [...ids];
  const lane = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const t0 = performance.now();
      let ok: boolean;
      if (o.jobs === 1) ok = await trainTo(candidates.get(id)!, steps, budget, o);
      else
        ok = await runChild(childArgs(o, id, r), perChild, id, o.log).then(
          () => true,
          (err: Error) => {
            if (err instanceof DataError) throw err;
            o.log(`${id}: ${err.message.split("\n")[0]}`);
            return false;
          },
        );
      done(id, ok ? rungScore(o, id, steps) : null, (performance.now() - t0) / 1000);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.jobs, ids.length) }, lane));
}

function sortEntries(entries: Entry[]): Entry[] {
  const key = (e: Entry) => [-e.rungs.length, e.fd ?? Infinity, e.rungs[e.rungs.length - 1]?.bpd ?? Infinity];
  return [...entries].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
    return 0;
  });
}

function correlations(entries: Entry[]): Leaderboard["correlations"] {
  const trained = entries.filter((e) => e.rungs[0]?.bpd != null && e.spec.frames > 1);
  const scored = trained.filter((e) => e.fd !== undefined);
  return Object.fromEntries(
    proxyNames.map((p) => [
      p,
      {
        bpd: spearman(
          trained.map((e) => e.proxies[p]),
          trained.map((e) => -e.rungs[0]!.bpd!),
        ),
        fd: spearman(
          scored.map((e) => e.proxies[p]),
          scored.map((e) => -e.fd!),
        ),
      },
    ]),
  ) as Leaderboard["correlations"];
}

/** Reads <out>/leaderboard.json of an earlier invocation, refusing one made with other settings. */
function readLeaderboard(o: TuneOptions, settings: Settings): Leaderboard | null {
  const path = join(o.out, "leaderboard.json");
  if (!existsSync(path)) return null;
  const prev = JSON.parse(readFileSync(path, "utf8")) as Leaderboard;
  if (JSON.stringify(prev.settings) !== JSON.stringify(settings))
    throw new ArgumentError(
      `${path} holds a tune with other settings (data, model, space, budget, seed or proxy): repeat them, or choose another --out`,
    );
  return prev;
}

export async function runTune(o: TuneOptions): Promise<Leaderboard> {
  const budget = tuneBudgets[o.budget];
  if (!budget) throw expected(`one of ${Object.keys(tuneBudgets).join(", ")}`, "budget", o.budget);
  const space = parseSpace(o.space);
  const settings: Settings = {
    data: o.data,
    model: o.model,
    space,
    budget: o.budget,
    seed: o.seed,
    proxy: o.proxy,
  };
  mkdirSync(o.out, { recursive: true });
  const prev = readLeaderboard(o, settings);

  const proxies = await scoreCandidates(o, budget, space);
  const proxyOf = new Map(proxies.specs.map((s, i) => [s.name, proxies.scores[i]!.scores]));
  const searched = rankBy(proxies.scores.slice(0, budget.points), o.proxy)
    .slice(0, budget.train)
    .map((i) => ({ id: proxies.specs[i]!.name, kind: "searched" as const, spec: proxies.specs[i]! }));
  const candidates: Candidate[] = [...searched, ...fixedCandidates(space, budget)];
  o.log(
    `proxies: ${proxies.specs.length} specs in ${proxies.seconds.toFixed(1)} s; ${candidates.length} candidates train ` +
      `(${searched.map((c) => c.id).join(", ")} by ${o.proxy}, and the baselines)`,
  );

  const entries = new Map<string, Entry>(
    candidates.map((c) => {
      const old = prev?.entries.find((e) => e.id === c.id);
      return [c.id, old ?? { id: c.id, kind: c.kind, spec: c.spec, proxies: proxyOf.get(c.id)!, rungs: [] }];
    }),
  );
  const board: Leaderboard = {
    settings,
    entries: [],
    correlations: correlations([]),
    best: null,
    compute: {
      proxySeconds: proxies.seconds,
      tokenizerSeconds: 0,
      trainSeconds: 0,
      fdSeconds: prev?.compute.fdSeconds ?? 0,
      updates: 0,
      hardware: thisMachine(),
      threadsPerRun: threadsPerRun(o.jobs),
    },
    finished: false,
  };
  const write = () => {
    const all = [...entries.values()];
    board.entries = sortEntries(all);
    board.correlations = correlations(all);
    board.compute.trainSeconds = all.reduce((a, e) => a + e.rungs.reduce((b, r) => b + r.seconds, 0), 0);
    // A run trained to rung r has made rungs[r] updates in all (each rung continues the one before).
    board.compute.updates = all.reduce((a, e) => a + (e.rungs[e.rungs.length - 1]?.steps ?? 0), 0);
    writeFileAtomic(join(o.out, "leaderboard.json"), JSON.stringify(board, null, 2) + "\n");
    writeFileAtomic(join(o.out, "leaderboard.md"), leaderboardMarkdown(board));
  };

  if (o.model === "vqvae")
    await ensureTokenizer(
      o.seed,
      {
        preset: budget.preset,
        steps: budget.rungs[budget.rungs.length - 1]!,
        batch: budget.batch,
        limit: budget.limit,
        validation: budget.validation,
      },
      { out: o.out, data: o.data, output: o.output, log: o.log },
    );
  const tokenizer = readMetrics(join(o.out, "runs", `tokenizer-vqvae-s${o.seed}`)).filter(
    (r) => r.type === "train",
  );
  board.compute.tokenizerSeconds = Number(tokenizer[tokenizer.length - 1]?.time ?? 0);
  const byId = new Map(candidates.map((c) => [c.id, c]));
  if (o.only) {
    const c = byId.get(o.only.id);
    if (!c || !budget.rungs[o.only.rung])
      throw new ArgumentError(`Unknown candidate ${o.only.id} or rung ${o.only.rung} for --only / --rung`);
    if (!(await trainTo(c, budget.rungs[o.only.rung]!, budget, o))) throw new Error(`${c.id} did not finish`);
    return board;
  }
  const sizes = rungSizes(candidates.length, budget.eta, budget.rungs.length);
  let alive = candidates.map((c) => c.id);
  for (const [r, steps] of budget.rungs.entries()) {
    const todo = alive.filter((id) => !entries.get(id)!.rungs[r]);
    o.log(
      `rung ${r + 1}/${budget.rungs.length}: ${alive.length} candidates at ${steps} updates, ${todo.length} to train`,
    );
    await trainRung(todo, r, byId, budget, o, (id, bpd, seconds) => {
      entries.get(id)!.rungs[r] = { steps, bpd, seconds };
      o.log(
        `  ${id}: validation last_bpd_given_true ${bpd?.toFixed(4) ?? "— (failed)"} (${seconds.toFixed(1)} s)`,
      );
      write();
    });
    if (r + 1 < budget.rungs.length)
      alive = promote(alive, (id) => entries.get(id)!.rungs[r]!.bpd ?? NaN, sizes[r + 1]!);
  }
  for (const id of alive) {
    const e = entries.get(id)!;
    if (e.fd !== undefined || e.rungs[e.rungs.length - 1]?.bpd == null) continue;
    const t0 = performance.now();
    const report = await evaluate(join(o.out, "runs", id), {
      metrics: ["fd"],
      n: budget.fdSamples,
      progress: o.output === "bar",
      log: o.log,
    });
    e.fd = report.fd!;
    board.compute.fdSeconds += (performance.now() - t0) / 1000;
    o.log(`  ${id}: FD ${e.fd.toFixed(2)} on ${budget.fdSamples} samples`);
    write();
  }
  // The best video spec: the image model (a reference) may rank above it, and the table says so.
  const best = sortEntries([...entries.values()]).find((e) => e.fd !== undefined && e.spec.frames > 1);
  if (best) writeFileAtomic(join(o.out, "best-spec.json"), JSON.stringify(best.spec, null, 2) + "\n");
  board.best = best?.id ?? null;
  board.finished = true;
  write();
  return board;
}

// ***** the table *****

const fmt = (v: number | null | undefined, d: number) => (v === null || v === undefined ? "—" : v.toFixed(d));

/** A spec in a few words: order, then each term (a mix as a|b|c), with frame 1's strength. */
function describeSpec(spec: VideoSpec): string {
  if (spec.ops.length === 0) return "the image (T = 1)";
  // Frame 1's strength (a velocity's top speed), and the jitter as the ± fraction it scales by.
  const one = (o: OpTerm) =>
    `${o.op} ${(Array.isArray(o.strength) ? o.strength[0]! : o.strength.max).toFixed(2)}` +
    (o.jitter > 0 ? ` ±${Math.round(o.jitter * 100)}%` : "");
  const terms = spec.ops.map((t) => (t.op === "mix" ? t.of.map(one).join(" | ") : one(t)));
  return `${spec.order}: ${terms.join(" → ")}`;
}

export function leaderboardMarkdown(b: Leaderboard): string {
  const rungs = tuneBudgets[b.settings.budget]!.rungs;
  const head = [
    "#",
    "candidate",
    "kind",
    "T",
    "spec (frame 1's strength)",
    ...proxyNames,
    ...rungs.map((s) => `bpd @${s}`),
    "FD",
  ];
  const rows = b.entries.map((e, i) => [
    i + 1,
    e.id,
    e.kind,
    e.spec.frames,
    describeSpec(e.spec),
    ...proxyNames.map((p) => fmt(e.proxies[p], p === "gain" || p === "ssim" ? 3 : 1)),
    ...rungs.map((_, r) => fmt(e.rungs[r]?.bpd, 4)),
    fmt(e.fd, 2),
  ]);
  const s = b.settings;
  const c = b.compute;
  const corr = proxyNames
    .map((p) => `${p} ${fmt(b.correlations[p].bpd, 2)} / ${fmt(b.correlations[p].fd, 2)}`)
    .join(", ");
  return [
    `# Tune: ${s.model} on ${s.data}, space ${s.space.name}, ${s.budget} budget, seed ${s.seed}${b.finished ? "" : " (in progress)"}`,
    "",
    markdownTable(head, rows).trimEnd(),
    "",
    `Proxies on held-out training images (higher is predicted better); bpd: validation last_bpd_given_true after that many updates ` +
      `(bits per code for the VQ family, on one shared tokenizer); FD: feature-net FD of the final rung's samples. ` +
      `Searched points were picked by ${s.proxy}.`,
    "",
    `Spearman correlation of each proxy with −bpd after the first rung / with −FD, over trained video candidates: ${corr}.`,
    "",
    `Compute: ${(c.proxySeconds + c.tokenizerSeconds + c.trainSeconds + c.fdSeconds).toFixed(1)} s in all, ` +
      `summed over runs (--jobs shortens the wall clock, not this): proxies ${c.proxySeconds.toFixed(1)} s, ` +
      `tokenizer ${c.tokenizerSeconds.toFixed(1)} s, training ${c.trainSeconds.toFixed(1)} s (${c.updates} updates), ` +
      `FD ${c.fdSeconds.toFixed(1)} s, on ${c.hardware}, ${c.threadsPerRun} thread(s) per run.`,
    "",
    b.best ? `Best: ${b.best} (best-spec.json).` : "Best: none yet.",
    "",
  ].join("\n");
}
