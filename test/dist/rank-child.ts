// One rank of group.test.ts: rank r contributes [r, r+1, r+2] and its own broadcast values.
import { ProcessGroup, rankEnv } from "../../src/dist/index.js";
import { tensor } from "../../src/tensor/index.js";

const env = rankEnv();
if (!env) throw new Error("no WORLD_SIZE");
const g = ProcessGroup.init(env, 20_000);
const a = tensor([env.rank, env.rank + 1, env.rank + 2]);
g.allreduceSum([a]);
const b = tensor(env.rank === 0 ? [10, 20] : [0, 0]);
g.broadcast([b]);
g.barrier();
process.stdout.write(
  JSON.stringify({ sum: Array.from(a.toArray() as number[]), bcast: Array.from(b.toArray() as number[]) }),
);
g.destroy();
