/**
 * Live decisions as server-sent events: the recent audit lines that match (oldest first), then
 * each new one as the audit writes it (`views.onDecision`, fed by the audit layer's RecentLines).
 * Bounded: at most MAX_STREAMS followers at once in all and MAX_STREAMS_PER_CALLER of one caller
 * (one token could otherwise take every slot and lock the others out), and a follower that reads
 * too slowly (more than MAX_BUFFERED bytes waiting) is cut off rather than let grow the
 * process's memory.
 */
import type { ServerResponse } from "node:http";
import type { AuditRecord } from "../../audit/record.js";
import { compileNameGlob } from "../../core/glob.js";
import type { AdminDecisionFilter, AdminGatewayViews } from "../views.js";

export const MAX_STREAMS = 32;
/** Followers of one caller (a token's name; without tokens, one remote address) at once. */
export const MAX_STREAMS_PER_CALLER = 8;
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
  /** Followers open per caller (entries removed at zero). */
  readonly #byCaller = new Map<string, number>();

  get size(): number {
    return this.#open.size;
  }

  /** Followers `caller` has open now. */
  of(caller: string): number {
    return this.#byCaller.get(caller) ?? 0;
  }

  /** Why a new follower of `caller` is refused (the bound it would pass), or undefined. */
  refusal(caller: string): { status: 429 | 503; message: string } | undefined {
    if (this.of(caller) >= MAX_STREAMS_PER_CALLER)
      return {
        status: 429,
        message: `${caller} already follows ${this.of(caller)} live decision streams, the most one caller may (${MAX_STREAMS_PER_CALLER}); close one (another tab) and retry`,
      };
    if (this.#open.size >= MAX_STREAMS)
      return {
        status: 503,
        message: `${this.#open.size} live decision streams are open, the most this listener keeps (${MAX_STREAMS} in all); close one (another tab) and retry`,
      };
    return undefined;
  }

  /**
   * Follow `views` on `res` (headers already written) for `caller` until the client goes or
   * close(). The caller must not be refused (`refusal`).
   */
  follow(
    res: ServerResponse,
    views: AdminGatewayViews,
    filter: AdminDecisionFilter,
    caller: string,
  ): void {
    let stop: (() => void) | undefined;
    let beat: NodeJS.Timeout | undefined;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      stop?.();
      clearInterval(beat);
      this.#open.delete(end);
      const n = this.of(caller) - 1;
      if (n > 0) this.#byCaller.set(caller, n);
      else this.#byCaller.delete(caller);
      res.end();
    };
    const send = (r: AuditRecord): void => {
      if (ended) return;
      if (res.writableLength > MAX_BUFFERED) end();
      else res.write(`event: decision\ndata: ${JSON.stringify(r)}\n\n`);
    };
    this.#open.add(end);
    this.#byCaller.set(caller, this.of(caller) + 1);
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
