import { type CanonHost, fromHostname } from "./host.js";
import { canonicalizePath } from "./path.js";
import { type Canon, fail } from "./result.js";

export interface CanonUrl {
  scheme: string;
  host: CanonHost;
  /** The port the request goes to (the scheme's default when none is written). */
  port: number;
  /** Canonical href, as the WHATWG URL parser writes it. */
  href: string;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  http: 80,
  https: 443,
  ws: 80,
  wss: 443,
};

/**
 * URLs for network requests: parsed by the WHATWG URL parser (what `fetch` uses), so
 * `https://api.example.com@evil.com/` is judged as evil.com and `https://evil.com\@x/` too.
 * Only http, https, ws and wss are accepted.
 */
export function canonicalizeUrl(input: unknown): Canon<CanonUrl> {
  if (typeof input !== "string") return fail("url must be a string");
  if (/[\u0000-\u001f\u007f]/.test(input)) return fail("url contains control characters");
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return fail(`"${input.slice(0, 80)}" is not a valid absolute URL`);
  }
  const scheme = url.protocol.slice(0, -1);
  const def = DEFAULT_PORTS[scheme];
  if (def === undefined) return fail(`scheme "${scheme}" is not one of http, https, ws, wss`);
  const port = url.port === "" ? def : Number(url.port);
  const host = fromHostname(url.hostname, port);
  if (!host.ok) return host;
  return { ok: true, value: { scheme, host: host.value, port, href: url.href } };
}

/**
 * Resource URIs (MCP): `file:` URIs become `file://` + canonical path; other schemes keep
 * their scheme (lower-cased) and get the same checks as paths (no control or invisible
 * characters, no encoded separators or dots, dot segments resolved).
 */
export function canonicalizeResourceUri(input: unknown): Canon<{ scheme: string; rest: string }> {
  if (typeof input !== "string") return fail("uri must be a string");
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(input);
  if (m === null) return fail(`"${input.slice(0, 80)}" is not a URI (scheme:...)`);
  const scheme = m[1]!.toLowerCase();
  if (scheme === "file") {
    const p = canonicalizePath(`file:${m[2]!}`);
    if (!p.ok) return p;
    return { ok: true, value: { scheme, rest: p.value } };
  }
  let rest = m[2]!;
  const hadSlashes = rest.startsWith("//");
  if (hadSlashes) rest = rest.slice(2);
  const p = canonicalizePath(`/${rest}`);
  if (!p.ok) return p;
  rest = p.value.slice(1);
  return { ok: true, value: { scheme, rest: hadSlashes ? `//${rest}` : rest } };
}
