// Where a rank finds its group: torchrun's environment variables (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK,
// LOCAL_RANK), set by `lastframe train --nproc N` for its children or by a user launching ranks themselves.
import { ArgumentError } from "../errors.js";

export interface RankEnv {
  masterAddr: string;
  masterPort: number;
  worldSize: number;
  rank: number;
  localRank: number;
}

function int(env: NodeJS.ProcessEnv, name: string, min: number): number {
  const raw = env[name] ?? "";
  const v = Number(raw);
  if (!/^\d+$/.test(raw) || v < min) throw new ArgumentError(`${name}=${raw}: expected an integer >= ${min}`);
  return v;
}

/** The rank's place from the environment, or null when WORLD_SIZE is unset (a single-process run). */
export function rankEnv(env: NodeJS.ProcessEnv = process.env): RankEnv | null {
  if (env.WORLD_SIZE === undefined) return null;
  const worldSize = int(env, "WORLD_SIZE", 1);
  const rank = int(env, "RANK", 0);
  if (rank >= worldSize) throw new ArgumentError(`RANK=${rank}: must be below WORLD_SIZE=${worldSize}`);
  const masterPort = int(env, "MASTER_PORT", 1);
  if (masterPort > 65535) throw new ArgumentError(`MASTER_PORT=${masterPort}: expected a port below 65536`);
  const localRank = env.LOCAL_RANK === undefined ? rank : int(env, "LOCAL_RANK", 0);
  return { masterAddr: env.MASTER_ADDR ?? "127.0.0.1", masterPort, worldSize, rank, localRank };
}
