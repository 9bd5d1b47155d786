/** The audit layer's public API: the one audit line shape and its writer (docs/audit.md). */
export { type ArgumentBounds, boundArguments } from "./bound.js";
export { RECENT_LINES, RecentLines } from "./recent.js";
export {
  type ArgumentsMode,
  type AuditConfig,
  type AuditLevel,
  type AuditOutcome,
  type AuditPhase,
  type AuditRecord,
  redact,
} from "./record.js";
export { AuditLog } from "./writer.js";
