/**
 * wasi:http/outgoing-handler, judged before the request leaves: a request with no authority is
 * refused outright; then the URL (scheme, authority, path), the method, the host and port as `http.request` against `network`; then every address
 * the host name resolves to (address.ts: deny rules on addresses, link-local and metadata
 * ranges), so a name that resolves to 169.254.169.254 does not pass. A refusal is the error
 * `HTTP-request-denied` of wasi:http/types. wasi:http/types (fields, requests, bodies,
 * responses) is preview2-shim's as it is: building a request is no capability; sending it is.
 *
 * The shim sends the request from its I/O worker, which would resolve the name again: the name
 * is pinned there to exactly the addresses judged here (./dns-pin.ts), so a DNS server that
 * answers differently the second time (rebinding) is never asked. The `lookup` option is the
 * judging resolver (tests use it to play a hostile DNS server); the request connects to what it
 * answered.
 */

import { types as httpTypes, outgoingHandler } from "@bytecodealliance/preview2-shim/http";
import { instanceNetwork, ipNameLookup } from "@bytecodealliance/preview2-shim/sockets";
import { canonicalizeHost } from "../../policy/canon/host.js";
import { ipText, judgeAddress } from "./address.js";
import type { Crossings } from "./crossing.js";
import { pinHost } from "./dns-pin.js";
import type { Lookup } from "./sockets.js";

const HANDLER = "wasi:http/outgoing-handler";
const DENIED = Object.freeze({ tag: "HTTP-request-denied" });

interface OutgoingRequestView {
  method(): { tag: string; val?: string };
  scheme(): { tag: string; val?: string } | undefined;
  authority(): string | undefined;
  pathWithQuery(): string | undefined;
}

/** Resolve a name through the shim's resolver (its I/O worker, synchronously). */
export const systemLookup: Lookup = (name) => {
  const lookup = ipNameLookup as unknown as {
    resolveAddresses(
      n: unknown,
      name: string,
    ): {
      subscribe(): { block(): void };
      resolveNextAddress(): { tag: string; val: number[] } | undefined;
    };
  };
  const stream = lookup.resolveAddresses(
    (instanceNetwork as { instanceNetwork(): unknown }).instanceNetwork(),
    name,
  );
  stream.subscribe().block();
  const out: string[] = [];
  for (let a = stream.resolveNextAddress(); a !== undefined; a = stream.resolveNextAddress())
    out.push(ipText(a));
  return out;
};

function schemeText(s: { tag: string; val?: string } | undefined): string {
  if (s === undefined) return "https";
  if (s.tag === "HTTP") return "http";
  if (s.tag === "HTTPS") return "https";
  return (s.val ?? "").toLowerCase();
}

export function httpImports(
  crossings: Crossings,
  lookup: Lookup = systemLookup,
): Record<string, Record<string, unknown>> {
  const handle = (request: OutgoingRequestView, options: unknown) => {
    const fn = "handle";
    const scheme = schemeText(request.scheme());
    const authority = request.authority();
    const method = request.method();
    const m = (method.tag === "other" ? (method.val ?? "") : method.tag).toUpperCase();
    const path = request.pathWithQuery() ?? "/";
    const url = `${scheme}://${authority ?? ""}${path.startsWith("/") ? path : `/${path}`}`;
    const act = { kind: "http.request" as const, url, method: m };
    // No authority: the URL has no host, and one read out of the path (`http:///127.0.0.1:9/x`
    // parses as host 127.0.0.1) would be judged in place of a request that names none.
    if (authority === undefined || authority === "")
      throw crossings.refuse(
        HANDLER,
        fn,
        act,
        "the request has no authority (host): set one with set-authority; a request without a host is never judged or sent",
        DENIED,
      );
    return crossings.run(HANDLER, fn, act, DENIED, () => {
      // The URL is allowed: now the addresses the host name leads to.
      const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
      const port = Number(new URL(url).port || (scheme === "http" ? 80 : 443));
      const c = canonicalizeHost(host);
      const literal = c.ok && (c.value.ipv4 >= 0 || c.value.ipv6 !== undefined);
      let addrs: readonly string[];
      if (literal)
        addrs = [host]; // the URL parser wrote it as an address (2852039166 → 169.254.169.254)
      else {
        try {
          addrs = lookup(host);
        } catch {
          addrs = [];
        }
        for (const a of addrs) {
          const refused = judgeAddress(crossings, HANDLER, fn, a, port, host, DENIED);
          if (refused !== undefined) throw refused;
        }
      }
      // The shim resolves the authority's host again in its I/O worker: pin it to exactly the
      // addresses judged here (./dns-pin.ts), so a second DNS answer is never used.
      pinHost(authority.split(":")[0] ?? "", addrs);
      return (outgoingHandler as { handle(r: unknown, o: unknown): unknown }).handle(
        request,
        options,
      );
    });
  };
  return {
    "wasi:http/types": { ...(httpTypes as unknown as Record<string, unknown>) },
    [HANDLER]: { handle },
  };
}
