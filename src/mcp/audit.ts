/**
 * The gateway's side of the audit: refusals of messages it could not judge. The line shape and
 * the writer are the audit layer's (src/audit), re-exported here for the gateway's files.
 */
import type { AuditEntry } from "../audit/record.js";
import type { StateCode } from "../state/codes.js";
import type { McpCode } from "./codes.js";

export {
  type AuditEntry,
  type AuditOutcome,
  type AuditPhase,
  type AuditRecord,
  auditError,
  newCallId,
  redact,
} from "../audit/record.js";
export { AuditLog } from "../audit/writer.js";

/**
 * A message refused before it could be judged, at a front (not JSON, not JSON-RPC, too deep, too
 * large) or in a session (lifecycle, unsafe id, no id, bad params, unknown target): what its
 * decision line says (docs/audit.md, "Refusals").
 */
export interface Refusal {
  /** The refused message's method (see `methodOf`). */
  method: string;
  /** state_unavailable: a session of another instance, the shared directory down. */
  code: McpCode | StateCode;
  /** Why, as its sender was told. */
  reason: string;
  /** The tool, prompt, resource or task it named, if any. */
  name?: string;
  /** The session it named, when no session of this instance takes the line (session routing). */
  session?: string;
}

/** A Refusal (`code` is read by the error-code scan at each call). */
export function refusal(method: string, code: McpCode, reason: string, name?: string): Refusal {
  return name === undefined ? { method, code, reason } : { method, code, reason, name };
}

/** What a refused message's audit line says when it had no method (not JSON, a batch, an answer). */
export const NO_METHOD = "-";
const MAX_TEXT = 500;

const bounded = (s: string) => (s.length <= MAX_TEXT ? s : `${s.slice(0, MAX_TEXT)}<…>`);

/** The method of a parsed message, bounded, for a refusal's line; NO_METHOD when it has none. */
export function methodOf(v: unknown): string {
  const m = (v as { method?: unknown } | null)?.method;
  return typeof m === "string" && m !== "" ? bounded(m) : NO_METHOD;
}

/** The decision line of a refusal (time, session, caller and call_id are added by the writer). */
export function refusalEntry(r: Refusal): AuditEntry {
  const rec: AuditEntry = {
    phase: "decision",
    upstream: null,
    method: bounded(r.method),
    decision: "deny",
    reason: bounded(r.reason),
    code: r.code,
    duration_ms: 0,
  };
  if (r.name !== undefined) rec.name = bounded(r.name);
  return rec;
}
