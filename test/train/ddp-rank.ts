// One rank of ddp.test.ts: trains the run given as JSON in argv[2] into argv[3] as a rank of the group in its
// environment, and prints a checksum of its parameters before every update (so after every update but the last).
import { ProcessGroup, rankEnv } from "../../src/dist/index.js";
import { type Tensor, setNumThreads, tidy } from "../../src/tensor/index.js";
import { train } from "../../src/train/loop.js";

setNumThreads(1);
const env = rankEnv();
if (!env) throw new Error("no WORLD_SIZE");
const [input, dir, opts] = process.argv.slice(2).map((a) => JSON.parse(a) as never);
const group = ProcessGroup.init(env, 60_000);
const checksums: number[] = [];
// Σ p·(index+1) in float64 over every parameter: any difference between the ranks' weights shows.
const checksum = (params: Tensor[]) =>
  tidy(() => params.reduce((s, p, i) => s + p.double().sum().item() * (i + 1), 0));
await train(input, dir, {
  ...(opts as object),
  output: "quiet",
  group,
  gradHook: (ps) => void checksums.push(checksum(ps)),
});
process.stdout.write(JSON.stringify({ rank: env.rank, checksums }));
group.destroy();
