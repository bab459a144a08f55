export { rankEnv } from "./env.js";
export { GroupError, ProcessGroup } from "./group.js";
