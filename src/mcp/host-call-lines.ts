/**
 * The host calls a component upstream's tool call made (src/hosted): the hosted server puts
 * them in its answer's `_meta["warden/host_calls"]`; the session takes them out before the
 * answer is judged or reaches the client, writes one audit line each (kind `host_call`, sharing
 * the tools/call's call_id, caller and session) and counts them in /metrics. Only a component
 * upstream's answer is read so: any other upstream's key is left as it is, never audited.
 */
import { type HostCalls, hostCallEntries } from "../hosted/host-calls.js";
import { HOST_CALLS_META } from "../hosted/server.js";
import type { GatewayCall } from "./judges.js";
import type { Late } from "./session-calls.js";
import type { SessionParts } from "./session-core.js";
import type { UpstreamLink } from "./upstream-link.js";

type Obj = Record<string, unknown>;

export function takeHostCalls(
  s: SessionParts,
  call: GatewayCall,
  link: UpstreamLink,
  publicName: string,
  result: Obj,
): void {
  if (link.cfg.kind !== "component") return;
  const meta = result._meta as Obj | undefined;
  const calls = meta?.[HOST_CALLS_META] as HostCalls | undefined;
  if (meta === undefined || calls === undefined) return;
  delete meta[HOST_CALLS_META];
  if (Object.keys(meta).length === 0) delete result._meta;
  s.ctx.hostCalls?.(link.name, calls);
  for (const rec of hostCallEntries(calls, link.name, publicName, call.meta!.call_id))
    s.audit.write(rec, true);
}

/**
 * A component upstream's tools/call that the client cancelled or that timed out: its answer
 * still comes (the hosted server does not drop it on a cancel) and its host calls are audited,
 * sharing the call's call_id, after its outcome line. Undefined for other upstreams.
 */
export function lateHostCalls(
  s: SessionParts,
  call: GatewayCall,
  link: UpstreamLink,
  publicName: string,
): Late | undefined {
  if (link.cfg.kind !== "component") return undefined;
  return (r) => {
    const a = r.message as { result?: Obj };
    if (a.result !== undefined && typeof a.result === "object")
      takeHostCalls(s, call, link, publicName, a.result);
  };
}
