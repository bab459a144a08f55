export { rankEnv, type RankEnv } from "./env.js";
export { ProcessGroup, defaultTimeoutMs } from "./group.js";
