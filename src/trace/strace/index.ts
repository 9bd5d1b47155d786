/** The strace layer of `warden run` (docs/trace.md, "The strace layer"). */
export { type AgentsView, type CorrelationStats, Correlator } from "./correlate.js";
export { type Checked, StraceJudge } from "./judge.js";
export { StraceLayer } from "./layer.js";
export { isNoise, SYSTEM_READ_DIRS, SYSTEM_READ_FILES } from "./noise.js";
export { StraceParser, type StraceRecord, unhex } from "./parse.js";
export { type Probe, probeStrace, type StraceSetup, SYSCALLS } from "./probe.js";
export { StraceRun } from "./run.js";
export {
  notSeen,
  type StraceMode,
  type StraceSummary,
  straceText,
} from "./status.js";
