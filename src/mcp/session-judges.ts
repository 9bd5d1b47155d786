/**
 * The judge points of one session: every message the session judges becomes a core `Call`
 * (its `meta` says which session, caller, upstream and phase) run through the chain of its phase
 * (judges.ts). `decide` judges it: at once when the chain has no strategy to await (the fast
 * path: no promise, no microtask), else a promise of the decision; the judgements in flight are
 * known, so that the session keeps a client's later notifications and answers behind them.
 */
import type { Decision } from "../core/decision.js";
import { newCallId } from "./audit.js";
import {
  failed,
  type GatewayCall,
  type GatewayCallMeta,
  type GatewayChain,
  type GatewayPhase,
} from "./judges.js";
import type { Downstream, GatewayContext, SessionIdentity } from "./session-core.js";

/** A call about to be judged, and the chain of its phase. */
export interface Judged {
  call: GatewayCall;
  chain: GatewayChain;
}

export class SessionJudges {
  /** Asynchronous judgements not decided yet. */
  readonly #inflight = new Set<Promise<Decision>>();
  /**
   * Fetches an upstream's tools/list through this session (set by session-forward.ts), handed
   * to every judged call's meta as `listTools` (one function per session: no per-call closure).
   */
  listTools: GatewayCallMeta["listTools"];

  constructor(
    readonly ctx: GatewayContext,
    readonly who: SessionIdentity,
    readonly down: Downstream,
  ) {}

  /** A judged call of `phase`: `fn` is its function (a tool name, a method), `target` its upstream. */
  judge(
    phase: GatewayPhase,
    fn: string,
    target: string | null,
    args: unknown,
    method: string,
  ): Judged {
    const meta: GatewayCallMeta = {
      phase,
      call_id: newCallId(),
      session: this.who.id,
      client: this.who.client,
      caller: this.who.caller,
      upstream: target,
      method,
      transport: this.down.transport,
      listTools: this.listTools,
    };
    if (this.down.host !== undefined) meta.host = this.down.host;
    if (this.who.caller !== this.down.caller) meta.user = this.down.caller;
    const p = this.down.principal;
    if (p !== undefined) {
      meta.groups = p.groups;
      meta.scopes = p.scopes;
    }
    const call: GatewayCall = {
      source: this.who.client,
      target: target ?? "gateway",
      function: fn,
      args,
      phase: "before",
      meta,
    };
    return { call, chain: this.ctx.judges()[phase] };
  }

  /**
   * The decision on `j`: a Decision when its chain is synchronous, else a Promise of one that
   * never rejects. A chain that fails (a strategy throws, or rejects) denies: fail closed, the
   * decision names the chain.
   */
  decide(j: Judged): Decision | Promise<Decision> {
    if (!j.chain.async) {
      // A synchronous strategy that throws denies too, with its decision line (fail closed).
      try {
        return j.chain.before(j.call);
      } catch (e) {
        return failed(j.chain.name, e instanceof Error ? e.message : String(e));
      }
    }
    const p = j.chain
      .beforeAsync(j.call)
      .catch((e: unknown) => failed(j.chain.name, e instanceof Error ? e.message : String(e)));
    this.#inflight.add(p);
    p.then(() => this.#inflight.delete(p));
    return p;
  }

  /** True when no judgement is in flight. */
  get idle(): boolean {
    return this.#inflight.size === 0;
  }

  /** The judgements in flight now. */
  inflight(): Promise<Decision>[] {
    return [...this.#inflight];
  }
}
