/**
 * The judge points of one session: every message the session judges becomes a core `Call`
 * (its `meta` says which session, caller, upstream and phase) run through the chain of its phase
 * (judges.ts). Handlers build the call here, then judge it with the chain they get back.
 */
import { newCallId } from "./audit.js";
import type { GatewayCall, GatewayCallMeta, GatewayChain, GatewayPhase } from "./judges.js";
import type { Downstream, GatewayContext, SessionIdentity } from "./session-core.js";

/** A call about to be judged, and the chain of its phase. */
export interface Judged {
  call: GatewayCall;
  chain: GatewayChain;
}

export class SessionJudges {
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
    };
    if (this.down.host !== undefined) meta.host = this.down.host;
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
}
