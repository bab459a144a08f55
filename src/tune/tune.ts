// `lastframe tune`: designs a pseudo-video spec for a data set and model family. Three steps, each resumable:
//   1. proxies   `points` specs drawn from the search space, plus the baselines and references, scored by the
//                zero-training proxies (proxies.ts) on held-out training images: proxies.json
//   2. frozen    one video model trained on TrivialAugment's spec (every operator at every strength) scores the
//                `frozen.points` best points by the proxy and the fixed candidates by its validation
//                last_bpd_given_true with its weights frozen (frozen.ts): frozen.json
//   3. halving   the `train` best points by one proxy (or by the frozen score), the RandAugment grid, TrivialAugment, the hand-written
//                `expressive` and the image model (`none`) train short runs; successive halving (halving.ts)
//                promotes the best 1/η by validation last_bpd_given_true (the image's bits given the true
//                earlier frames, on the held-out split) to the next rung, where their runs go on training
//   4. FD        the candidates of the final rung are sampled and scored (feature-net FD)
// The VQ family trains its candidates' priors on one shared clean-image tokenizer (as the compare suite does),
// so their bits per code compare. Everything lands in the tune's folder:
//   <out>/tune.json            the settings; a resume must repeat them
//   <out>/proxies.json         every scored spec with its proxies
//   <out>/frozen.json          the frozen model's score of each spec it scored
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
import { writeReport } from "../report/html.js";
import { markdownTable } from "../report/markdown.js";
import { type TuneReportData, tuneReport } from "../report/tune.js";
import { encodeVideoGrid } from "../modality/image-grid.js";
import { toBytes } from "../train/data.js";
import { type Tensor, dispose, fromTyped, manualSeed, tidy } from "../tensor/index.js";
import { type RunInput, readMetrics, train } from "../train/index.js";
import { writeFileAtomic } from "../util/atomic.js";
import { type OpTerm, type VideoSpec, makeVideos, parseSpec } from "../video/index.js";
import { type FrozenScore, frozenScorer } from "./frozen.js";
import { promote, rungSizes } from "./halving.js";
import { type PbtBudget, type PbtFile, lineage, runPbt, specParameters } from "./pbt.js";
import { type ProxyName, type ProxyScore, proxyNames, rankBy, scoreSpec, spearman } from "./proxies.js";
import { type SearchSpace, parseSpace, randAugmentSpec, samplePoint, trivialAugmentSpec } from "./space.js";

export interface TuneBudget {
  /** The model preset of every run. */
  preset: string;
  /** Points of the space scored by the proxies, on this many held-out images, `draws` videos each. */
  points: number;
  proxyImages: number;
  draws: number;
  /**
   * The frozen-model scorer: the best `points` points by the proxy (and the fixed candidates) scored on
   * `images` held-out images; its broad model trains as long as the last rung.
   */
  frozen: { points: number; images: number };
  /**
   * Population-based training of the spec (pbt.ts): `population` members from the points picked to train; its
   * interval × generations updates equal the last rung's, so its members compare with the halving's.
   */
  pbt: PbtBudget;
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
    frozen: { points: 4, images: 32 },
    pbt: { population: 2, interval: 3, generations: 2 },
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
    frozen: { points: 40, images: 1000 },
    pbt: { population: 4, interval: 50, generations: 6 },
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
  /** What picks which points train: a proxy, or the frozen model's score. */
  proxy: Picker;
  /** Runs trained at once within a rung, each in a child process with its share of the threads. */
  jobs: number;
  /** In a child: train just this candidate to this rung (0-based), writing no leaderboard. */
  only?: { id: string; rung: number };
  output: "bar" | "quiet";
  log: (s: string) => void;
}

/** What picks the points that train: a zero-training proxy, or the frozen model. */
export type Picker = ProxyName | "frozen";
export const pickerNames: readonly Picker[] = [...proxyNames, "frozen"];

type Kind = "searched" | "randaugment" | "trivialaugment" | "reference" | "pbt";

interface Candidate {
  id: string;
  kind: Kind;
  spec: VideoSpec;
}

export interface Entry {
  id: string;
  kind: Kind;
  spec: VideoSpec;
  /** Absent for PBT members (their specs are explored during training, not scored beforehand). */
  proxies?: Record<ProxyName, number>;
  /** The frozen model's validation last_bpd_given_true on this spec (absent: not scored, e.g. T differs). */
  frozen?: number;
  /** Validation last_bpd_given_true after each rung's updates (null: the run failed). */
  rungs: { steps: number; bpd: number | null; seconds: number }[];
  fd?: number;
}

export interface Leaderboard {
  settings: Settings;
  /** Best first: furthest rung, then FD, then the last rung's bpd. */
  entries: Entry[];
  /**
   * Spearman's correlation over trained candidates of each proxy (and of −frozen) with −bpd after the first rung
   * and with −FD.
   */
  correlations: Record<Picker, { bpd: number | null; fd: number | null }>;
  best: string | null;
  /** The learned schedule of the PBT member that ended best (absent until PBT is done). */
  schedule?: Schedule;
  /** Seconds of each step (the VQ family's shared tokenizer apart), the candidates' updates, the machine. */
  compute: {
    proxySeconds: number;
    tokenizerSeconds: number;
    /** The frozen model's training, and its scoring of every spec it scored. */
    frozenTrainSeconds: number;
    frozenScoreSeconds: number;
    trainSeconds: number;
    /** PBT's training, all members. */
    pbtSeconds: number;
    fdSeconds: number;
    updates: number;
    hardware: string;
    /** Threads each run trained with in this invocation. */
    threadsPerRun: number;
  };
  finished: boolean;
}

/** A PBT member's spec in each interval (the step it ended at), and its parameters (pbt.ts specParameters). */
export interface Schedule {
  member: string;
  points: { step: number; spec: string; parameters: Record<string, number> }[];
}

interface Settings {
  data: string;
  model: string;
  space: SearchSpace;
  budget: string;
  seed: number;
  proxy: Picker;
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

/**
 * The run a candidate trains up to `steps` updates; a PBT member's is scored on the validation split every
 * interval. Best-checkpoint selection keeps the validation records (and for a member, the weights FD samples).
 */
function runInput(c: Candidate, steps: number, budget: TuneBudget, o: TuneOptions, member = false): RunInput {
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
      evalEvery: member ? budget.pbt.interval : budget.rungs[0]!,
      evalImages: budget.validation,
      sampleEvery: budget.rungs[budget.rungs.length - 1]!,
      sampleN: 16,
    },
    ...(vq ? { init: { from: tokenizerPath(o.out, o.seed), modules: ["vqvae."] } } : {}),
  };
}

/**
 * Trains a candidate to `steps` updates, continuing its run; false if it failed (diverged, say). A PBT member
 * (`stopAt`) trains a run of `steps` updates in all but stops, checkpointed, after `stopAt` of them: its learning
 * rate follows the whole run's schedule across intervals.
 */
async function trainTo(
  c: Candidate,
  steps: number,
  budget: TuneBudget,
  o: TuneOptions,
  stopAt?: number,
): Promise<boolean> {
  try {
    await train(runInput(c, steps, budget, o, stopAt !== undefined), join(o.out, "runs", c.id), {
      resume: true,
      output: o.output,
      log: o.log,
      ...(stopAt !== undefined ? { stopAt } : {}),
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

/** frozen.json: the frozen model's scores (the broad run's training apart, which resumes like any run). */
interface FrozenFile {
  scores: FrozenScore[];
  trainSeconds: number;
  scoreSeconds: number;
}

/** The frozen model's run: TrivialAugment's spec, every operator at every strength, as long as the last rung. */
const broadCandidate = (space: SearchSpace): Candidate => ({
  id: "frozen-broad",
  kind: "trivialaugment",
  spec: trivialAugmentSpec(space),
});

/** Seconds a run has trained, from its metrics (a resumed run's earlier invocations included). */
function runSeconds(o: TuneOptions, id: string): number {
  const records = readMetrics(join(o.out, "runs", id)).filter((r) => r.type === "train");
  return Number(records[records.length - 1]?.time ?? 0);
}

/**
 * Step 2: frozen.json, computed once. The frozen model scores `specs` (those with its T) on the held-out images;
 * its run resumes after a kill like the candidates' do.
 */
async function scoreFrozen(
  o: TuneOptions,
  budget: TuneBudget,
  space: SearchSpace,
  specs: VideoSpec[],
): Promise<FrozenFile> {
  const path = join(o.out, "frozen.json");
  if (existsSync(path)) return JSON.parse(readFileSync(path, "utf8")) as FrozenFile;
  const broad = broadCandidate(space);
  if (!(await trainTo(broad, budget.rungs[budget.rungs.length - 1]!, budget, o)))
    throw new Error("The frozen model's run (runs/frozen-broad) did not finish");
  const t0 = performance.now();
  const scorer = await frozenScorer(join(o.out, "runs", broad.id), {
    images: budget.frozen.images,
    split: "validation",
  });
  let scores: FrozenScore[];
  try {
    scores = specs.filter((s) => s.frames === scorer.frames).map((s) => scorer.score(s));
  } finally {
    scorer.close();
  }
  const result: FrozenFile = {
    scores,
    trainSeconds: runSeconds(o, broad.id),
    scoreSeconds: (performance.now() - t0) / 1000,
  };
  o.log(
    `frozen: ${scores.length} specs scored in ${result.scoreSeconds.toFixed(1)} s ` +
      `(${(result.scoreSeconds / Math.max(1, scores.length)).toFixed(2)} s each on ${budget.frozen.images} images)`,
  );
  writeFileAtomic(path, JSON.stringify(result, null, 2) + "\n");
  return result;
}

/**
 * Step 4: population-based training from the first `population` of `starts` (the picked points, then the rest
 * of the sample), in <out>/pbt.json and runs/pbt-<i>; the learned schedule of the member that ends best.
 */
async function trainPopulation(
  o: TuneOptions,
  budget: TuneBudget,
  space: SearchSpace,
  starts: VideoSpec[],
): Promise<{ file: PbtFile; schedule: Schedule }> {
  const { pbt } = budget;
  const initial = [...new Map(starts.map((s) => [s.name, s])).values()]
    .filter((s) => s.frames === starts[0]!.frames)
    .slice(0, pbt.population);
  const total = pbt.interval * pbt.generations;
  const file = await runPbt(join(o.out, "pbt.json"), initial, space, pbt, o.seed, {
    dir: (id) => join(o.out, "runs", id),
    train: (id, spec, step) => trainTo({ id, kind: "pbt", spec }, total, budget, o, step),
    score: (id, step) => rungScore(o, id, step),
    log: o.log,
  });
  const last = file.generations[file.generations.length - 1]!;
  const score = (i: number) => last.bpd[i] ?? Infinity;
  const best = file.ids[file.ids.reduce<number>((b, _, i) => (score(i) < score(b) ? i : b), 0)]!;
  return {
    file,
    schedule: {
      member: best,
      points: lineage(file, best).map(({ step, spec }) => ({
        step,
        spec: spec.name,
        parameters: specParameters(spec),
      })),
    },
  };
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
  // PBT members are out: their specs changed while they trained, so no single spec's score predicts them.
  const trained = entries.filter((e) => e.rungs[0]?.bpd != null && e.spec.frames > 1 && e.kind !== "pbt");
  const scored = trained.filter((e) => e.fd !== undefined);
  // Each method oriented so that higher is predicted better: the proxies as they are, the frozen bpd negated.
  const predicted = (e: Entry, m: Picker) => (m === "frozen" ? -(e.frozen ?? NaN) : (e.proxies?.[m] ?? NaN));
  const corr = (list: Entry[], m: Picker, outcome: (e: Entry) => number) => {
    const have = list.filter((e) => Number.isFinite(predicted(e, m)));
    return spearman(
      have.map((e) => predicted(e, m)),
      have.map(outcome),
    );
  };
  return Object.fromEntries(
    pickerNames.map((m) => [
      m,
      { bpd: corr(trained, m, (e) => -e.rungs[0]!.bpd!), fd: corr(scored, m, (e) => -e.fd!) },
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
  const points = proxies.specs.slice(0, budget.points);
  const byProxy = (p: ProxyName) => rankBy(proxies.scores.slice(0, budget.points), p).map((i) => points[i]!);

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
  // The frozen model scores a uniform sample of the space (its first points: no proxy's bias), the points a
  // proxy would train, and the fixed candidates.
  const sample = points.slice(0, budget.frozen.points);
  const proxyPicks = o.proxy === "frozen" ? [] : byProxy(o.proxy).slice(0, budget.train);
  const fixed = fixedCandidates(space, budget);
  const frozen = await scoreFrozen(o, budget, space, [
    ...new Map([...sample, ...proxyPicks, ...fixed.map((c) => c.spec)].map((s) => [s.name, s])).values(),
  ]);
  const frozenOf = new Map(frozen.scores.map((f) => [f.spec, f.bpd]));
  const picked =
    o.proxy === "frozen"
      ? sample
          .filter((s) => frozenOf.has(s.name))
          .sort((a, b) => frozenOf.get(a.name)! - frozenOf.get(b.name)!)
          .slice(0, budget.train)
      : proxyPicks;
  const searched = picked.map((spec) => ({ id: spec.name, kind: "searched" as const, spec }));
  const candidates: Candidate[] = [...searched, ...fixed];
  o.log(
    `proxies: ${proxies.specs.length} specs in ${proxies.seconds.toFixed(1)} s; ${candidates.length} candidates train ` +
      `(${searched.map((c) => c.id).join(", ")} by ${o.proxy}, and the baselines)`,
  );

  const entries = new Map<string, Entry>(
    candidates.map((c) => {
      const old = prev?.entries.find((e) => e.id === c.id);
      const fresh: Entry = { id: c.id, kind: c.kind, spec: c.spec, proxies: proxyOf.get(c.id)!, rungs: [] };
      const f = frozenOf.get(c.id);
      return [c.id, { ...(old ?? fresh), ...(f !== undefined ? { frozen: f } : {}) }];
    }),
  );
  const board: Leaderboard = {
    settings,
    entries: [],
    correlations: correlations([]),
    best: null,
    compute: {
      proxySeconds: proxies.seconds,
      tokenizerSeconds: runSeconds(o, `tokenizer-vqvae-s${o.seed}`),
      frozenTrainSeconds: frozen.trainSeconds,
      frozenScoreSeconds: frozen.scoreSeconds,
      trainSeconds: 0,
      pbtSeconds: 0,
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
  const pbt = await trainPopulation(o, budget, space, [...picked, ...points]);
  for (const [i, id] of pbt.file.ids.entries()) {
    const last = pbt.file.generations[pbt.file.generations.length - 1]!;
    const fd = prev?.entries.find((e) => e.id === id)?.fd;
    entries.set(id, {
      id,
      kind: "pbt",
      spec: last.specs[i]!,
      rungs: budget.rungs.map((steps) => ({ steps, bpd: rungScore(o, id, steps), seconds: 0 })),
      ...(fd !== undefined ? { fd } : {}),
    });
  }
  board.compute.pbtSeconds = pbt.file.generations.reduce((a, g) => a + g.seconds, 0);
  board.schedule = pbt.schedule;
  write();
  for (const id of [...alive, pbt.schedule.member]) {
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
  await writeTuneReport(o, budget, board);
  return board;
}

// ***** the report *****

/** <out>/report.html: the leaderboard, pseudo videos of the best video specs and PBT's, the learned schedule. */
async function writeTuneReport(o: TuneOptions, budget: TuneBudget, b: Leaderboard): Promise<void> {
  const shown = [
    ...b.entries.filter((e) => e.spec.frames > 1 && e.kind !== "pbt").slice(0, 3),
    ...b.entries.filter((e) => e.id === b.schedule?.member),
  ];
  const images = await proxyImages(o, budget);
  const [, c, h, w] = images.shape as [number, number, number, number];
  const n = Math.min(4, images.size(0));
  const previews: TuneReportData["previews"] = [];
  try {
    for (const e of shown) {
      manualSeed(o.seed);
      const frames = tidy(() => toBytes(makeVideos(images.narrow(0, 0, n), e.spec)));
      const png = await encodeVideoGrid(frames, { n, t: e.spec.frames, c, h, w }, { scale: 2, pad: 2 });
      previews.push({ name: e.id, caption: describeSpec(e.spec), png });
    }
  } finally {
    dispose(images);
  }
  const { head, rows } = leaderboardTable(b);
  const s = b.schedule;
  const names = s ? [...new Set(s.points.flatMap((p) => Object.keys(p.parameters)))].sort() : [];
  const md = leaderboardMarkdown(b).split("\n\n");
  await writeReport(
    join(o.out, "report.html"),
    tuneReport({
      title: md[0]!.replace(/^# /, ""),
      // The Markdown's paragraphs after the table: what the columns mean, the correlations, compute, the best.
      summary: md.slice(2, 6),
      leaderboard: {
        columns: head,
        rows,
        caption: `Best first; searched points picked by ${b.settings.proxy}.`,
      },
      previews,
      ...(s
        ? {
            schedule: {
              member: s.member,
              steps: s.points.map((p) => p.step),
              parameters: Object.fromEntries(
                names.map((k) => [k, s.points.map((p) => p.parameters[k] ?? null)]),
              ),
            },
          }
        : {}),
    }),
  );
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

/** The leaderboard's columns and rows, as the Markdown table and the report show them. */
function leaderboardTable(b: Leaderboard): { head: string[]; rows: (string | number)[][] } {
  const rungs = tuneBudgets[b.settings.budget]!.rungs;
  const head = [
    "#",
    "candidate",
    "kind",
    "T",
    "spec (frame 1's strength)",
    ...proxyNames,
    "frozen",
    ...rungs.map((s) => `bpd @${s}`),
    "FD",
  ];
  const rows = b.entries.map((e, i) => [
    i + 1,
    e.id,
    e.kind,
    e.spec.frames,
    describeSpec(e.spec),
    ...proxyNames.map((p) => fmt(e.proxies?.[p], p === "gain" || p === "ssim" ? 3 : 1)),
    fmt(e.frozen, 4),
    ...rungs.map((_, r) => fmt(e.rungs[r]?.bpd, 4)),
    fmt(e.fd, 2),
  ]);
  return { head, rows };
}

/** The learned schedule as Markdown: one row per interval, one column per parameter. */
function scheduleMarkdown(s: Schedule): string {
  const names = [...new Set(s.points.flatMap((p) => Object.keys(p.parameters)))].sort();
  const rows = s.points.map((p) => [p.step, p.spec, ...names.map((n) => fmt(p.parameters[n], 3))]);
  return markdownTable(["updates (end)", "spec", ...names], rows).trimEnd();
}

export function leaderboardMarkdown(b: Leaderboard): string {
  const { head, rows } = leaderboardTable(b);
  const s = b.settings;
  const c = b.compute;
  const corr = pickerNames
    .map((p) => `${p} ${fmt(b.correlations[p].bpd, 2)} / ${fmt(b.correlations[p].fd, 2)}`)
    .join(", ");
  return [
    `# Tune: ${s.model} on ${s.data}, space ${s.space.name}, ${s.budget} budget, seed ${s.seed}${b.finished ? "" : " (in progress)"}`,
    "",
    markdownTable(head, rows).trimEnd(),
    "",
    `Proxies on held-out training images (higher is predicted better); bpd: validation last_bpd_given_true after that many updates ` +
      `(bits per code for the VQ family, on one shared tokenizer); frozen: the same score of the frozen model ` +
      `(trained once on TrivialAugment's spec) on ${tuneBudgets[s.budget]!.frozen.images} held-out images, no training; ` +
      `FD: feature-net FD of the final rung's samples. ` +
      `Searched points were picked by ${s.proxy}.`,
    "",
    `Spearman correlation of each proxy (and of −frozen) with −bpd after the first rung / with −FD, over trained video candidates: ${corr}.`,
    "",
    `Compute: ${(c.proxySeconds + c.tokenizerSeconds + c.frozenTrainSeconds + c.frozenScoreSeconds + c.trainSeconds + c.pbtSeconds + c.fdSeconds).toFixed(1)} s in all, ` +
      `summed over runs (--jobs shortens the wall clock, not this): proxies ${c.proxySeconds.toFixed(1)} s, ` +
      `tokenizer ${c.tokenizerSeconds.toFixed(1)} s, frozen model ${c.frozenTrainSeconds.toFixed(1)} s to train and ` +
      `${c.frozenScoreSeconds.toFixed(1)} s to score, training ${c.trainSeconds.toFixed(1)} s and PBT ${c.pbtSeconds.toFixed(1)} s (${c.updates} updates), ` +
      `FD ${c.fdSeconds.toFixed(1)} s, on ${c.hardware}, ${c.threadsPerRun} thread(s) per run.`,
    "",
    b.best ? `Best: ${b.best} (best-spec.json).` : "Best: none yet.",
    "",
    ...(b.schedule
      ? [
          `PBT (kind pbt: ${tuneBudgets[s.budget]!.pbt.population} members, their last spec shown): the schedule ` +
            `${b.schedule.member} learned, followed back through its takeovers (frame 1's strength of each ` +
            `operator, a mixture's probabilities):`,
          "",
          scheduleMarkdown(b.schedule),
          "",
        ]
      : []),
  ].join("\n");
}
