/**
 * `endpoints`: where a traced process may connect, as `host:port` patterns (`*:22`,
 * `127.0.0.1:*`, `*.onion:*`), and which protocols (`protocols: [https, tcp]`). Action
 * `endpoint.connect`: `{ host, port?, protocol? }`. The host is canonicalized as everywhere
 * (lower case, IDN to punycode, IPv4 in any form to a dotted quad, IPv6 compressed and written
 * in brackets: `[::1]:443`); without a port the subject is `host:*`. `network` decides the
 * host first; `endpoints` refines, and adds nothing when absent (default allow).
 */
import { canonicalizeHost } from "../canon/host.js";
import type { CheckContext } from "../context.js";
import { shippedRef } from "../json-schema.js";
import type { PermissionType } from "../registry.js";
import { badAction, notCanonical } from "../rule.js";
import type { PolicyDecision } from "../types.js";
import {
  bestRule,
  compileModes,
  type ModeSection,
  stricterDecision,
  verdictDecision,
} from "./modes.js";

const KIND = "endpoint.connect";

export interface EndpointsCompiled extends ModeSection {
  /** Protocols allowed (lower case), or null for any. */
  readonly protocols: ReadonlySet<string> | null;
  /** The decision for a protocol not listed. */
  readonly offProtocol: PolicyDecision | null;
}

function connect(
  c: EndpointsCompiled,
  a: Readonly<Record<string, unknown>>,
  ctx: CheckContext,
): PolicyDecision {
  if (typeof a.host !== "string") return badAction(KIND, `"host" must be a string`);
  const port = a.port;
  if (
    port !== undefined &&
    !(typeof port === "number" && Number.isInteger(port) && port >= 0 && port <= 65535)
  )
    return badAction(KIND, `"port" must be an integer 0-65535`);
  const protocol = a.protocol;
  if (protocol !== undefined && typeof protocol !== "string")
    return badAction(KIND, `"protocol" must be a string like tcp or https`);
  const h = canonicalizeHost(a.host);
  if (!h.ok) return notCanonical(KIND, h.reason);
  let p = port as number | undefined;
  if (h.value.port >= 0) {
    if (p !== undefined && p !== h.value.port)
      return badAction(KIND, `port ${p} and the host's port ${h.value.port} differ`);
    p = h.value.port;
  }
  const host = h.value.ipv6 !== undefined ? `[${h.value.host}]` : h.value.host;
  const subject = `${host}:${p === undefined ? "*" : p}`;
  const proto = protocol === undefined ? undefined : protocol.toLowerCase();
  if (ctx.explain) ctx.input = { kind: KIND, host: h.value.host, port: p, protocol: proto };
  let d = bestRule(c, subject, undefined)?.decision ?? c.fallback;
  if (c.protocols !== null && proto !== undefined && !c.protocols.has(proto))
    d = stricterDecision(d, c.offProtocol!);
  return d;
}

export const endpointsType: PermissionType<EndpointsCompiled> = {
  key: "endpoints",
  description:
    "host:port endpoints and protocols a traced process may connect to (modes; refines network)",
  schema: { $ref: shippedRef("policy", "#/definitions/endpoints") },
  compile(value, ctx, path) {
    const v = value as Record<string, unknown>;
    const modes = compileModes(
      v,
      ctx,
      path,
      { label: "endpoints", fallback: "allow", nocase: true },
      ctx.has(path),
    );
    const list = v.protocols as string[] | undefined;
    if (list === undefined) return { ...modes, protocols: null, offProtocol: null };
    const r = ctx.rule([...path, "protocols"], "deny");
    return {
      ...modes,
      protocols: new Set(list.map((x) => x.toLowerCase())),
      offProtocol: verdictDecision(
        "block",
        "deny_rule",
        `the protocol is not listed in ${r.id} (${r.where})`,
        r,
      ),
    };
  },
  match: { [KIND]: connect },
};
