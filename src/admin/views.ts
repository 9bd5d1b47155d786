/**
 * What the admin layer reads of a running gateway, declared here structurally (the admin layer
 * does not import mcp): the cli hands `Gateway.views()` in. Every method returns fresh, frozen
 * copies (see src/mcp/views.ts); absent when `warden admin` runs without a gateway.
 */
import type { AuditRecord } from "../audit/record.js";

/** Which recent decisions to return (every given condition must hold). */
export interface AdminDecisionFilter {
  readonly decision?: "allow" | "deny";
  /** A name glob on tools/call lines' tool. */
  readonly tool?: string;
  readonly caller?: string;
  readonly phase?: "decision" | "outcome" | "event";
  readonly limit?: number;
}

export interface AdminGatewayViews {
  /**
   * rug_pull's pins from the store its guards judge with: `store` (files, redis), the pins
   * (upstream, tool, hash, pinnedAt, approvedBy, pending, file or key), `problems`.
   */
  pins(): Promise<{
    readonly store: "files" | "redis";
    readonly pins: readonly object[];
    readonly problems: readonly object[];
  }>;
  /** Each upstream's health, in config order. */
  upstreams(): readonly object[];
  readiness(): { readonly ready: boolean; readonly notReady: readonly object[] };
  decisions(filter?: AdminDecisionFilter): readonly AuditRecord[];
  onDecision(fn: (rec: AuditRecord) => void): () => void;
  /**
   * Approve rug_pull's pending change of `tool` at the version `hash` (the one reviewed), as
   * `warden pins approve` does, in the same store; returns the pins now at that hash, throws
   * pin_not_found (or state_unavailable with Redis down).
   */
  approvePin(upstream: string, tool: string, hash: string, by: string): Promise<readonly object[]>;
}
