/**
 * The audit lines of one session (docs/audit.md): decision and outcome lines of judged calls,
 * passthrough lines (audit.level all), refusals; and the refusals and denials whose answer to the
 * client and audit line always go together. Metrics hear of every decision (ctx.decided).
 */
import type { Decision } from "../core/decision.js";
import {
  type AuditEntry,
  type AuditOutcome,
  auditError,
  newCallId,
  type Refusal,
  refusalEntry,
} from "./audit.js";
import type { McpCode } from "./codes.js";
import { denialCode, denialError } from "./denial.js";
import { type ErrorResponse, type Request, UPSTREAM_UNAVAILABLE } from "./jsonrpc.js";
import type { GatewayCall } from "./judges.js";
import {
  type Answer,
  CANCELLED,
  type Downstream,
  type GatewayContext,
  type SessionIdentity,
} from "./session-core.js";

type Obj = Record<string, unknown>;
/** How a forwarded call's answer ended, besides answered: refused by the response judges, or failed. */
export type How = { refused?: Decision; failed?: boolean };

/** Which policy section allows what, for denial hints. */
export const SECTION: Record<string, [McpCode, string]> = {
  "tools/call": ["tool_denied", "mcp.tools.allow"],
  "prompts/get": ["prompt_denied", "mcp.prompts.allow"],
  "resources/read": ["resource_denied", "mcp.resources.allow"],
  "resources/subscribe": ["resource_denied", "mcp.resources.allow"],
  "completion/complete": ["completion_denied", "mcp.prompts.allow / mcp.resources.allow"],
  initialize: ["connection_denied", "mcp.transport"],
  "tasks/get": ["tool_denied", "mcp.tools.allow"],
  "tasks/result": ["tool_denied", "mcp.tools.allow"],
  "tasks/cancel": ["tool_denied", "mcp.tools.allow"],
};

export class SessionAudit {
  constructor(
    readonly ctx: GatewayContext,
    readonly who: SessionIdentity,
    readonly down: Downstream,
  ) {}

  /**
   * One audit line; time, session, caller and a call_id if none are added. `forwarded`: a
   * decision line whose outcome line follows (metrics time the call once). Returns the trace
   * headers of a forwarded call's span (telemetry), for its request to the upstream.
   */
  write(rec: AuditEntry, forwarded = false): string[] | undefined {
    this.ctx.decided?.(rec, !forwarded);
    const a = this.ctx.audit();
    if (a === undefined) return undefined;
    const { call_id, ...rest } = rec;
    return a.write(
      {
        time: new Date().toISOString(),
        call_id: call_id ?? newCallId(),
        caller: this.who.caller,
        client: this.who.client,
        session: this.who.id,
        ...rest,
      },
      forwarded && rec.phase === "decision",
    );
  }

  /** A message's arguments as the audit records them (audit.args), or nothing. */
  args(v: unknown): Obj | undefined {
    return this.ctx.audit()?.args(v);
  }

  /** A message refused before it was judged: its decision line, with its code. */
  refused(r: Refusal): void {
    this.write(refusalEntry(r));
  }

  /** Answer `e`, a refusal of `method` (with its data.warden code), and audit it. */
  refuse(e: ErrorResponse, method: string, name?: string): void {
    const code = (e.error.data as { warden?: McpCode } | undefined)?.warden ?? "message_invalid";
    this.refused({
      method,
      code,
      reason: e.error.message,
      ...(name === undefined ? {} : { name }),
    });
    this.down.send(e, e.id ?? undefined);
  }

  /**
   * At audit.level all: a line (phase event, kind passthrough) for a message passed on unjudged
   * (a ping: answered by the gateway itself); `dropped`, when not empty, says why it went nowhere.
   */
  passed(method: string, from: "client" | "upstream", upstream: string | null, dropped = ""): void {
    if (this.ctx.audit()?.level !== "all") return;
    const rec: AuditEntry = {
      phase: "event",
      kind: "passthrough",
      from,
      upstream,
      method,
      decision: dropped === "" ? "allow" : "deny",
      duration_ms: 0,
    };
    if (dropped !== "") rec.reason = dropped;
    // not a call: no decision counted, no time observed
    this.write(rec, true);
  }

  /** A judged request denied (`d`): its decision line, and the denial error to the client. */
  deny(req: Request, call: GatewayCall, d: Decision, what: string, t0: number): void {
    const [code, section] = SECTION[req.method] ?? ["guard_denied", "mcp"];
    const meta = call.meta!;
    this.write({
      call_id: meta.call_id,
      phase: "decision",
      upstream: meta.upstream,
      method: req.method,
      name: meta.target ?? call.function,
      decision: "deny",
      rule: d.rule,
      rule_id: ruleId(d.details),
      reason: d.reason,
      // a rule's refusal: its code, and a review is said as such (it is refused, not held)
      ...(denialCode(d) === undefined ? {} : { code: denialCode(d) }),
      ...(d.verdict === "review" ? { verdict: "review" as const } : {}),
      duration_ms: performance.now() - t0,
      ...this.args(call.args),
    });
    const e = denialError(req.id, d, { code, what, section, policyFile: this.ctx.policyFile() });
    this.down.send(e, e.id ?? undefined);
  }

  /**
   * The decision line of a call that is forwarded now: its outcome line follows (`outcome`).
   * Returns the trace headers of its span (telemetry on), for the request to the upstream.
   */
  forwarded(
    call: GatewayCall,
    method: string,
    name: string | undefined,
    t0: number,
    d?: Decision,
  ): string[] | undefined {
    const meta = call.meta!;
    // A strategy that let it through with a say (warn, display: a rule's warn or log) names its rule.
    const said = d !== undefined && d.verdict !== "allow" && d.rule !== undefined ? d : undefined;
    const rec: AuditEntry = {
      call_id: meta.call_id,
      phase: "decision",
      upstream: meta.upstream,
      method,
      decision: "allow",
      rule: said ? said.rule : meta.policy?.rule,
      rule_id: said ? ruleId(said.details) : meta.policy?.ruleId,
      duration_ms: performance.now() - t0,
      ...this.args(call.args),
    };
    if (said) rec.reason = said.reason;
    if (name !== undefined) rec.name = name;
    return this.write(rec, true);
  }

  /**
   * The outcome line of a forwarded call: how its answer ended (docs/audit.md, "Outcomes").
   * `refused`: the response judges refused the answer; `failed`: the gateway could not make the
   * answer (its error is `a`). Then the chain's after hooks see how the call ended.
   */
  outcome(
    call: GatewayCall,
    method: string,
    name: string | undefined,
    t0: number,
    a: Answer | typeof CANCELLED,
    how?: How,
  ): void {
    const meta = call.meta!;
    const rec: AuditEntry = {
      call_id: meta.call_id,
      phase: "outcome",
      upstream: meta.upstream,
      method,
      decision: how?.refused ? "deny" : "allow",
      outcome: "answered",
      rule: how?.refused?.rule ?? meta.policy?.rule,
      rule_id: how?.refused ? ruleId(how.refused.details) : meta.policy?.ruleId,
      duration_ms: performance.now() - t0,
    };
    if (name !== undefined) rec.name = name;
    let outcome: AuditOutcome = "answered";
    if (a === CANCELLED) outcome = this.who.closed ? "cut_off" : "cancelled";
    else if (how?.refused) {
      outcome = "denied";
      rec.reason = how.refused.reason;
    } else if ("error" in a) {
      const gone =
        a.error.code === UPSTREAM_UNAVAILABLE &&
        (a.error.data as Obj | undefined)?.warden === "upstream_unavailable";
      const late = (a.error.data as Obj | undefined)?.warden === "upstream_timeout";
      outcome = how?.failed || gone ? "failed" : late ? "timeout" : "error";
      rec.error = auditError(a.error);
    } else if (a.result.isError === true)
      // a component's call that hit its deadline (src/hosted) says so in its _meta
      outcome = timedOut(a.result) ? "timeout" : "error";
    rec.outcome = outcome;
    this.write(rec);
    // The chain's after hooks see how the call ended (the metrics' statistics strategy counts
    // it per tool): the result when answered, else the error (or the outcome) on call.error.
    const chain = this.ctx.judges()[meta.phase];
    if (chain.hasAfter) {
      if (outcome === "answered" && a !== CANCELLED && "result" in a) call.result = a.result;
      else call.error = a !== CANCELLED && "error" in a ? a.error : outcome;
      chain.after(call);
    }
  }
}

/** A tool's error answer whose `_meta["warden/error"]` is a `timeout` (a component's deadline). */
function timedOut(result: Obj): boolean {
  const e = (result._meta as Obj | undefined)?.["warden/error"] as Obj | undefined;
  return e?.code === "timeout";
}

/** The policy rule's key path a core decision carries (toCoreDecision puts it in details). */
function ruleId(details: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const id = details?.ruleId;
  return typeof id === "string" ? id : undefined;
}
