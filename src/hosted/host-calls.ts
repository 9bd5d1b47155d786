/**
 * The host calls one tool call made (judged in its worker, batched across: ./event-batch.ts):
 * collected on the main thread, then turned into audit lines (kind `host_call`, docs/audit.md),
 * /metrics counts, and, when some were refused, the hint the tool's answer carries (what was
 * refused, by which rule, what to add to the policy).
 */
import type { AuditEntry, HostCallDetail } from "../audit/record.js";
import type { DroppedEvents, EventsMessage, LiveDropped } from "./event-batch.js";
import { describeDenial, type HostDecisionEvent, type HostLogEvent } from "./host-seam.js";

/** The host calls of one tool call. */
export interface HostCalls {
  /** The component and the tool (its public name in the hosted server). */
  readonly component: string;
  readonly tool: string;
  /** The judged host calls sent in full (at most EVENTS_PER_CALL). */
  readonly events: readonly HostDecisionEvent[];
  /** The component's log lines and the host's notes, within the same bound. */
  readonly logs: readonly HostLogEvent[];
  /** Host calls counted past the bound, not sent one by one. */
  readonly dropped: readonly DroppedEvents[];
}

/** Collects a call's batches as they arrive. */
export class HostCallCollector {
  readonly events: HostDecisionEvent[] = [];
  readonly logs: HostLogEvent[] = [];
  readonly dropped: DroppedEvents[] = [];
  /** An eager call's dropped rows counted in a shared board, until its end's final counts. */
  #board: Int32Array | undefined;
  #live: LiveDropped["row"][] = [];
  constructor(
    readonly component: string,
    readonly tool: string,
  ) {}

  readonly add = (m: EventsMessage): void => {
    for (const e of m.events) {
      if (e.kind === "decision") this.events.push(e);
      else this.logs.push(e);
    }
    if (m.live !== undefined) {
      if (m.live.board !== undefined) this.#board = new Int32Array(m.live.board);
      this.#live[m.live.index] = m.live.row;
    }
    if (m.dropped) {
      // the call's end: its final counts replace the shared ones
      this.dropped.push(...m.dropped);
      this.#live = [];
    }
  };

  done(): HostCalls {
    // A call whose worker was terminated (a cancelled task) never sent its end: its dropped
    // counts are the ones in the shared board, as they were when it stopped.
    const board = this.#board;
    const live =
      board === undefined
        ? []
        : this.#live.map((row, i) => ({ ...row, count: Atomics.load(board, i) }));
    return {
      component: this.component,
      tool: this.tool,
      events: this.events,
      logs: this.logs,
      dropped: live.length === 0 ? this.dropped : [...this.dropped, ...live],
    };
  }
}

/** How many host calls were refused (sent in full and counted past the bound). */
export function deniedCount(c: HostCalls): number {
  let n = 0;
  for (const e of c.events) if (e.decision === "deny") n++;
  for (const d of c.dropped) if (d.decision === "deny") n += d.count;
  return n;
}

const HINT_LINES = 5;

/**
 * The text a tool's answer carries when some of its host calls were refused: one line per
 * distinct refusal (at most five), each naming the host function, its target, the rule and what
 * to add to the policy. Undefined when nothing was refused.
 */
export function denialText(c: HostCalls): string | undefined {
  const total = deniedCount(c);
  if (total === 0) return undefined;
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const e of c.events) {
    if (e.decision !== "deny") continue;
    const key = `${e.interface}\u0000${e.function}\u0000${e.target}\u0000${e.rule ?? ""}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (lines.length < HINT_LINES) lines.push(`- ${describeDenial(e)}`);
  }
  const listed = lines.length;
  const head =
    total === 1
      ? `Warden refused 1 host call of component "${c.component}":`
      : `Warden refused ${total} host calls of component "${c.component}"${seen.size > listed ? ` (${listed} of ${seen.size} distinct ones listed)` : ""}:`;
  if (lines.length === 0)
    lines.push(
      `- ${c.dropped
        .filter((d) => d.decision === "deny")
        .map((d) => `${d.interface} ${d.function} (${d.count} times)`)
        .join(", ")}`,
    );
  return [head, ...lines].join("\n");
}

/** The refusals as the answer's `_meta["warden/denials"]` lists them (at most five). */
export function denialList(c: HostCalls): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const e of c.events) {
    if (e.decision !== "deny" || out.length >= HINT_LINES) continue;
    const d: Record<string, unknown> = {
      function: `${e.interface}.${e.function}`,
      target: e.target,
      reason: e.reason,
    };
    if (e.rule !== undefined) d.rule = e.rule;
    if (e.rule_id !== undefined) d.rule_id = e.rule_id;
    if (e.hint !== undefined) d.hint = e.hint;
    if (e.wasi_error !== undefined) d.wasi_error = e.wasi_error;
    out.push(d);
  }
  return out;
}

/**
 * The audit entries of a tool call's host calls: one `phase: event, kind: host_call` line per
 * judged host call sent in full, and one per (function, decision) counted past the bound
 * (`host.count`). `upstream`: the gateway upstream (or null); `name`: the tool as the client
 * named it; `callId`: the tools/call's own call_id, which the lines share.
 */
export function hostCallEntries(
  c: HostCalls,
  upstream: string | null,
  name: string,
  callId: string | undefined,
): AuditEntry[] {
  const out: AuditEntry[] = [];
  const base = {
    ...(callId === undefined ? {} : { call_id: callId }),
    phase: "event" as const,
    kind: "host_call" as const,
    upstream,
    method: "tools/call",
    name,
  };
  for (const e of c.events) {
    const host: HostCallDetail = {
      component: e.component,
      interface: e.interface,
      function: e.function,
    };
    if (e.target !== "") host.target = e.target;
    host.code = e.code;
    if (e.wasi_error !== undefined) host.wasi_error = e.wasi_error;
    if (e.hint !== undefined) host.hint = e.hint;
    if (e.hidden !== undefined) host.hidden = [...e.hidden].slice(0, 100);
    const rec: AuditEntry = {
      ...base,
      decision: e.decision,
      reason: e.reason.length <= 500 ? e.reason : `${e.reason.slice(0, 500)}<…>`,
      duration_ms: e.micros / 1000,
      host,
    };
    if (e.rule !== undefined) rec.rule = e.rule;
    if (e.rule_id !== undefined) rec.rule_id = e.rule_id;
    out.push(rec);
  }
  for (const d of c.dropped) {
    if (d.interface === "log") continue;
    out.push({
      ...base,
      decision: d.decision,
      reason: `${d.count} more host call(s) of ${d.interface} ${d.function} in this tool call, counted but not audited one by one (past the bound of full lines per tool call)`,
      duration_ms: 0,
      host: {
        component: d.component,
        interface: d.interface,
        function: d.function,
        count: d.count,
      },
    });
  }
  return out;
}
