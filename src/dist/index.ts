export { rankEnv } from "./env.js";
export { ProcessGroup } from "./group.js";
