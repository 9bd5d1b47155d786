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

const CONTROL = /[\u0000-\u001f\u007f]/;
const BAD_CHAR = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\ufffe\uffff]/u;
const BAD_ENCODED = /%(?:2[eEfF5]|5[cC]|[01][0-9A-Fa-f]|7[fF])/;
const DOT_SEGMENT = /(?:^|\/)\.{1,2}(?:\/|$)/;

/**
 * Resource URIs (MCP), read as RFC 3986 and the WHATWG parser (`new URL`, which the SDK's
 * servers use to look resources up) read them, so the policy judges what the server serves:
 * - `file:` URIs become `file://` + canonical path (see `canonicalizePath`); so do `file:` URIs
 *   behind an MCP gateway's upstream prefix (`<upstream>+file:///x`), which keep their scheme;
 * - other schemes: the scheme and host are lower-cased (compared case-insensitively), dot
 *   segments are resolved inside the path only (`notes://private/../diary` is
 *   `notes://private/diary`: a `..` never reaches the authority), escapes in host and path are
 *   decoded once with the same refusals as paths (encoded separators, dots, percents, controls,
 *   invisible characters, backslashes), and query and fragment are kept as the parser writes
 *   them. Refused: control characters anywhere, user info (`user@host` can hide the host),
 *   and `.` / `..` segments in an opaque path (`mem:a/../b`), which the parser leaves as they are.
 * The same function canonicalizes rule patterns, so both sides agree.
 */
export function canonicalizeResourceUri(input: unknown): Canon<{ scheme: string; rest: string }> {
  if (typeof input !== "string") return fail("uri must be a string");
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(input);
  if (m === null) return fail(`"${input.slice(0, 80)}" is not a URI (scheme:...)`);
  const scheme = m[1]!.toLowerCase();
  if (isFileScheme(scheme)) {
    const p = canonicalizePath(`file:${m[2]!}`);
    if (!p.ok) return p;
    return { ok: true, value: { scheme, rest: p.value } };
  }
  if (CONTROL.test(input)) return fail("uri contains a control character");
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return fail(`"${input.slice(0, 80)}" is not a valid URI`);
  }
  if (url.username !== "" || url.password !== "")
    return fail("uri has user info (user@host), refused: rules name hosts, not users");
  const tail = url.search + url.hash;
  if (url.href.startsWith("//", scheme.length + 1)) {
    const host = decodeOnce(url.host);
    if (!host.ok) return host;
    const path = url.pathname.length <= 1 ? undefined : canonicalizePath(url.pathname);
    if (path !== undefined && !path.ok) return path;
    const p = path === undefined || path.value === "/" ? "" : path.value;
    return { ok: true, value: { scheme, rest: `//${host.value.toLowerCase()}${p}${tail}` } };
  }
  const opaque = url.pathname;
  if (!opaque.startsWith("/") && DOT_SEGMENT.test(opaque))
    return fail(`"${input.slice(0, 80)}" has a "." or ".." segment in an opaque path (refused)`);
  const p = canonicalizePath(opaque.startsWith("/") ? opaque : `/${opaque}`);
  if (!p.ok) return p;
  const rest = opaque.startsWith("/") ? p.value : p.value.slice(1);
  return { ok: true, value: { scheme, rest: `${rest}${tail}` } };
}

/** `file`, or `<upstream>+file` (a gateway's prefixed `file:` URI): the rest is a path. */
export function isFileScheme(scheme: string): boolean {
  return scheme === "file" || scheme.endsWith("+file");
}

/** A host's `%XX` escapes decoded once, with the path canonicalizer's refusals. */
function decodeOnce(s: string): Canon {
  let v = s;
  if (v.includes("%")) {
    if (BAD_ENCODED.test(v))
      return fail("uri host percent-encodes a separator, dot, percent or control character");
    try {
      v = decodeURIComponent(v);
    } catch {
      return fail("uri host has invalid percent-encoding or invalid UTF-8");
    }
  }
  if (BAD_CHAR.test(v)) return fail("uri host contains a control or invisible character");
  if (v.includes("\\")) return fail("uri host contains a backslash");
  return { ok: true, value: v.normalize("NFC") };
}
