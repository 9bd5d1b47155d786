/**
 * A span's attributes, read from an audit line (src/audit/record.ts): the audit record is the one
 * source of truth, and a span says what its line says (docs/telemetry.md, "Attributes").
 */
import type { Attributes } from "@opentelemetry/api";
import type { AuditRecord } from "../audit/record.js";

/** The span's name: the MCP method, with the tool or prompt it names (low cardinality). */
export function spanName(rec: AuditRecord): string {
  if (rec.kind === "host_call" && rec.host !== undefined)
    return `host_call ${rec.host.interface} ${rec.host.function}`;
  if (rec.kind !== undefined && rec.kind !== "passthrough") return `warden ${rec.kind}`;
  if ((rec.method === "tools/call" || rec.method === "prompts/get") && rec.name !== undefined)
    return `${rec.method} ${rec.name}`;
  return rec.method;
}

/** What every line of a call says: who, where, what. */
export function callAttributes(rec: AuditRecord): Attributes {
  const a: Attributes = {
    "mcp.method.name": rec.method,
    "warden.call_id": rec.call_id,
    "warden.decision": rec.decision,
  };
  if (rec.session !== null) a["mcp.session.id"] = rec.session;
  if (rec.caller !== null) a["warden.caller"] = rec.caller;
  if (rec.client !== undefined) a["warden.client"] = rec.client;
  if (rec.upstream !== null) a["warden.upstream"] = rec.upstream;
  if (rec.name !== undefined) {
    if (rec.method === "tools/call") a["gen_ai.tool.name"] = rec.name;
    else if (rec.method === "prompts/get") a["gen_ai.prompt.name"] = rec.name;
    else if (rec.method.startsWith("resources/")) a["mcp.resource.uri"] = rec.name;
    a["warden.name"] = rec.name;
  }
  verdictAttributes(rec, a);
  if (rec.phase === "decision") a["warden.decision_ms"] = rec.duration_ms;
  if (rec.kind !== undefined) a["warden.kind"] = rec.kind;
  if (rec.from !== undefined) a["warden.from"] = rec.from;
  if (rec.hidden !== undefined) a["warden.hidden"] = rec.hidden.length;
  if (rec.host !== undefined) {
    const h = rec.host;
    a["warden.host.component"] = h.component;
    a["warden.host.interface"] = h.interface;
    a["warden.host.function"] = h.function;
    if (h.target !== undefined) a["warden.host.target"] = h.target;
    if (h.code !== undefined) a["warden.host.code"] = h.code;
    if (h.count !== undefined) a["warden.host.count"] = h.count;
  }
  return a;
}

/** What a line decided (rule, code, reason, verdict), added to `a`. */
export function verdictAttributes(rec: AuditRecord, a: Attributes): Attributes {
  a["warden.decision"] = rec.decision;
  if (rec.verdict !== undefined) a["warden.verdict"] = rec.verdict;
  else a["warden.verdict"] = rec.decision === "deny" ? "block" : "allow";
  if (rec.rule !== undefined) a["warden.rule"] = rec.rule;
  if (rec.rule_id !== undefined) a["warden.rule_id"] = rec.rule_id;
  if (rec.code !== undefined) a["warden.code"] = rec.code;
  if (rec.reason !== undefined) a["warden.reason"] = rec.reason;
  return a;
}

/** An outcome line's attributes, added to its call's span. */
export function outcomeAttributes(rec: AuditRecord): Attributes {
  const a: Attributes = {};
  if (rec.outcome !== undefined) a["warden.outcome"] = rec.outcome;
  a["warden.duration_ms"] = rec.duration_ms;
  if (rec.error !== undefined) {
    a["rpc.jsonrpc.error_code"] = rec.error.code;
    a["error.type"] = String(rec.error.code);
  }
  return verdictAttributes(rec, a);
}

/** A line whose span is an error: a denial, or a call that ended in an error or failed. */
export function isError(rec: AuditRecord): boolean {
  return rec.decision === "deny" || rec.outcome === "error" || rec.outcome === "failed";
}

/** The status message of an error span: the reason, or the error's message (bounded by the audit). */
export function errorMessage(rec: AuditRecord): string {
  if (rec.decision === "deny")
    return `denied${rec.rule ? ` by ${rec.rule}` : ""}: ${rec.reason ?? ""}`;
  return rec.error?.message ?? rec.outcome ?? "error";
}
