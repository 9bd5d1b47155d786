/**
 * `http`: URLs a traced process may request. Action `http.url`: `{ url, method? }`. The URL
 * is read by the WHATWG parser (`canonicalizeUrl`, what fetch uses): hosts canonical (case,
 * IDN, IPv4 forms), user info and fragment dropped (a pattern never sees `user@`), then a rule
 * is tested against the canonical URL with and without its scheme
 * (`https://registry.npmjs.org/x` and `registry.npmjs.org/x`), case-insensitively, `*`
 * stopping at `/`. `network` decides the host first; `http` refines by path, and adds nothing
 * when absent (default allow).
 */
import { canonicalizeUrl } from "../canon/url.js";
import type { CheckContext } from "../context.js";
import { shippedRef } from "../json-schema.js";
import { Memo } from "../match/memo.js";
import type { PermissionType } from "../registry.js";
import { badAction, notCanonical } from "../rule.js";
import type { PolicyDecision } from "../types.js";
import { bestRule, compileModes, type ModeSection } from "./modes.js";

const KIND = "http.url";

export interface HttpCompiled extends ModeSection {
  /** Raw URL to its canonical form without user info and fragment, or why it is refused. */
  readonly urls: Memo<{ href: string } | { refused: string }>;
}

/** The URL as rules see it: canonical, no user info, no fragment. */
export function urlSubject(raw: string): { href: string } | { refused: string } {
  const u = canonicalizeUrl(raw);
  if (!u.ok) return { refused: u.reason };
  const url = new URL(u.value.href);
  const h = u.value.host;
  url.hostname = h.ipv6 !== undefined ? `[${h.host}]` : h.host;
  url.username = "";
  url.password = "";
  url.hash = "";
  return { href: url.href };
}

function request(
  c: HttpCompiled,
  a: Readonly<Record<string, unknown>>,
  ctx: CheckContext,
): PolicyDecision {
  const raw = a.url;
  if (typeof raw !== "string") return badAction(KIND, `"url" must be a string`);
  if (a.method !== undefined && (typeof a.method !== "string" || !/^[A-Za-z]+$/.test(a.method)))
    return badAction(KIND, `"method" must be an HTTP method like GET`);
  let s = c.urls.get(raw);
  if (s === undefined) c.urls.set(raw, (s = urlSubject(raw)));
  if ("refused" in s) return notCanonical(KIND, s.refused);
  const href = s.href;
  if (ctx.explain)
    ctx.input = { kind: KIND, url: href, method: ((a.method as string) ?? "GET").toUpperCase() };
  const bare = href.slice(href.indexOf("://") + 3);
  const withScheme = bestRule(c, href, undefined);
  const without = bestRule(c, bare, undefined);
  const best =
    withScheme === undefined
      ? without
      : without === undefined || withScheme.pattern.specificity >= without.pattern.specificity
        ? withScheme
        : without;
  return best?.decision ?? c.fallback;
}

export const httpType: PermissionType<HttpCompiled> = {
  key: "http",
  description: "URLs a traced process may request (URL patterns with modes; refines network)",
  schema: { $ref: shippedRef("policy", "#/definitions/http") },
  compile: (value, ctx, path) => ({
    ...compileModes(
      value as Record<string, unknown>,
      ctx,
      path,
      { label: "http", fallback: "allow", nocase: true, pathLike: true },
      ctx.has(path),
    ),
    urls: new Memo(),
  }),
  match: { [KIND]: request },
};
