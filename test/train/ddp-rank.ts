// One rank of ddp.test.ts: trains the run given as JSON in argv[2] into argv[3] (train options in argv[4]) as a
// rank of the group in its environment, and prints a checksum of its parameters before every update (so after
// every update but the last). argv[5], if given, is {rank, step}: that rank's loss is NaN on that step (a fault).
import { ProcessGroup, rankEnv } from "../../src/dist/index.js";
import { hvaeFamily } from "../../src/models/hvae.js";
import { type Tensor, setNumThreads, tidy } from "../../src/tensor/index.js";
import type { RunInput } from "../../src/train/config.js";
import { train } from "../../src/train/loop.js";

setNumThreads(1);
const env = rankEnv();
if (!env) throw new Error("no WORLD_SIZE");
const [input, dir, opts, fault] = process.argv.slice(2).map((a) => JSON.parse(a) as unknown) as [
  RunInput,
  string,
  object,
  { rank: number; step: number } | undefined,
];
if (fault?.rank === env.rank) {
  const create = hvaeFamily.create.bind(hvaeFamily);
  hvaeFamily.create = (cfg, shape) => {
    const model = create(cfg, shape);
    const loss = model.loss.bind(model);
    let calls = 0;
    model.loss = (videos, stage) => {
      const out = loss(videos, stage);
      return ++calls === fault.step ? { ...out, loss: out.loss.mul(NaN) } : out;
    };
    return model;
  };
}
const group = ProcessGroup.init(env, 60_000);
const checksums: number[] = [];
// Σ p·(index+1) in float64 over every parameter: any difference between the ranks' weights shows.
const checksum = (params: Tensor[]) =>
  tidy(() => params.reduce((s, p, i) => s + p.double().sum().item() * (i + 1), 0));
await train(input, dir, {
  ...opts,
  output: "quiet",
  group,
  gradHook: (ps) => void checksums.push(checksum(ps)),
});
process.stdout.write(JSON.stringify({ rank: env.rank, checksums }));
group.destroy();
