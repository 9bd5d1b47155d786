/**
 * What the admin page reads of a running gateway, declared structurally (the admin layer does not
 * import mcp): the cli hands `Gateway.views()` in, whose shapes these are (src/mcp/views.ts,
 * ToolPin, UpstreamHealth, Readiness). Every method returns fresh, frozen copies.
 */
import type { AuditRecord } from "../../audit/record.js";

/** A tool rug_pull pinned, and the change waiting for a person, if any. */
export interface PagePin {
  readonly upstream: string;
  readonly tool: string;
  readonly hash: string;
  readonly pinnedAt: string;
  readonly approvedBy: string | null;
  readonly pending: { readonly hash: string; readonly seenAt: string } | null;
  readonly file: string;
}

export interface PageUpstream {
  readonly name: string;
  readonly transport: string;
  readonly sessions: string;
  readonly state: string;
  readonly pids: readonly number[];
  readonly restarts: number;
  readonly lastError: { readonly message: string; readonly at: string } | null;
  readonly sessionsUsing: number;
}

export interface PageReadiness {
  readonly ready: boolean;
  readonly notReady: readonly {
    readonly upstream: string;
    readonly state: string;
    readonly reason: string;
  }[];
}

/** Which audit lines (every given condition must hold). */
export interface PageDecisionFilter {
  readonly decision?: "allow" | "deny";
  /** A name glob on tools/call lines' tool. */
  readonly tool?: string;
  readonly caller?: string;
  readonly phase?: "decision" | "outcome" | "event";
  readonly limit?: number;
}

export interface PageViews {
  pins(): readonly PagePin[];
  upstreams(): readonly PageUpstream[];
  readiness(): PageReadiness;
  decisions(filter?: PageDecisionFilter): readonly AuditRecord[];
  onDecision(fn: (rec: AuditRecord) => void): () => void;
  /** Approve the pending change of a pin at `hash` (the version reviewed); see src/mcp/views.ts. */
  approvePin(upstream: string, tool: string, hash: string, by: string): readonly PagePin[];
}
