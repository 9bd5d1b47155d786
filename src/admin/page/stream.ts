/**
 * Live decisions as server-sent events: the recent audit lines that match (oldest first), then
 * each new one as the audit writes it (`views.onDecision`, fed by the audit layer's RecentLines).
 * Bounded: at most MAX_STREAMS followers at once, and a follower that reads too slowly (more
 * than MAX_BUFFERED bytes waiting) is cut off rather than let grow the process's memory.
 */
import type { ServerResponse } from "node:http";
import type { AuditRecord } from "../../audit/record.js";
import { compileNameGlob } from "../../core/glob.js";
import type { AdminDecisionFilter, AdminGatewayViews } from "../views.js";

export const MAX_STREAMS = 32;
export const MAX_BUFFERED = 1 << 20;
const HEARTBEAT_MS = 15_000;
/** How many recent lines a new follower gets first. */
export const BACKLOG = 50;

/** The same conditions as the gateway's `views.decisions(filter)`, for lines heard live. */
export function decisionMatcher(f: AdminDecisionFilter): (r: AuditRecord) => boolean {
  const tool = f.tool === undefined ? undefined : compileNameGlob(f.tool);
  return (r) =>
    (f.decision === undefined || r.decision === f.decision) &&
    (f.caller === undefined || r.caller === f.caller) &&
    (f.phase === undefined || r.phase === f.phase) &&
    (tool === undefined || (r.method === "tools/call" && r.name !== undefined && tool(r.name)));
}

export class DecisionStreams {
  readonly #open = new Set<() => void>();

  get size(): number {
    return this.#open.size;
  }

  get full(): boolean {
    return this.#open.size >= MAX_STREAMS;
  }

  /** Follow `views` on `res` (headers already written) until the client goes or close(). */
  follow(res: ServerResponse, views: AdminGatewayViews, filter: AdminDecisionFilter): void {
    let stop: (() => void) | undefined;
    let beat: NodeJS.Timeout | undefined;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      stop?.();
      clearInterval(beat);
      this.#open.delete(end);
      res.end();
    };
    const send = (r: AuditRecord): void => {
      if (ended) return;
      if (res.writableLength > MAX_BUFFERED) end();
      else res.write(`event: decision\ndata: ${JSON.stringify(r)}\n\n`);
    };
    this.#open.add(end);
    res.on("close", end);
    res.on("error", end);
    const backlog = views.decisions({ ...filter, limit: BACKLOG });
    for (let i = backlog.length - 1; i >= 0; i--) send(backlog[i]!);
    const keep = decisionMatcher(filter);
    stop = views.onDecision((r) => {
      if (keep(r)) send(r);
    });
    if (ended) {
      stop();
      return;
    }
    beat = setInterval(() => res.write(": keep-alive\n\n"), HEARTBEAT_MS);
    beat.unref();
  }

  /** End every stream (the server closes). */
  close(): void {
    for (const end of [...this.#open]) end();
  }
}
