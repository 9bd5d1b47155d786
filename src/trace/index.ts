/** The trace layer's public API: `warden run`'s server, session, output (docs/trace.md). */
import { fileURLToPath } from "node:url";

export { actionFor, type Op, type OpKind, SECTION_OF, verdictOf } from "./actions.js";
export { TRACE_CODES, type TraceCode } from "./codes.js";
export { defaultPolicy } from "./default-policy.js";
export { type TraceEnv, tracedEnv, withAgent } from "./env.js";
export { type Handoff, writeHandoff } from "./handoff.js";
export {
  auditRecord,
  eventLine,
  NOT_SEEN,
  printable,
  type RunSummary,
  shown,
  summaryOf,
  summaryText,
} from "./output.js";
export { policyAsJson } from "./policy-json.js";
export * from "./protocol.js";
export { pythonJudge, pythonSiteFor } from "./python/index.js";
export { hasTerminal, terminalReviewer } from "./review.js";
export { sectionsOf } from "./sections.js";
export { startTraceServer, type TraceHandlers, type TraceServer } from "./server.js";
export { type SessionOptions, TraceSession } from "./session.js";
export { applyRecord, openSpool, type Spool, type SpoolStats } from "./spool.js";
export { type StraceMode, StraceRun, type StraceSummary, straceText } from "./strace/index.js";

/** The Node agent's CommonJS preload, for NODE_OPTIONS=--require. */
export const AGENT_PRELOAD = fileURLToPath(new URL("./agent/preload.cjs", import.meta.url));
