/**
 * Public names across merged upstreams: tools and prompts become `<upstream>__<name>`,
 * resource URIs `<upstream>+<uri>` (still a valid URI: the scheme gains a prefix). An upstream
 * with `prefix: false` keeps its own names; names it serves are learned from its lists.
 *
 * Among several `prefix: false` upstreams a name or URI belongs to the first that lists it (in
 * config order): a later one cannot take it over by listing it too (`owner` tells the list
 * merge to hide its duplicate) or by naming it in a notification. A URI first seen in a
 * `notifications/resources/updated` belongs to its sender only until an upstream lists it.
 */
export interface Routed {
  upstream: string;
  name: string;
}

export class Naming {
  readonly #prefixed: Set<string>;
  readonly #plain: string[];
  /** name or URI → upstream, for upstreams without prefix: from lists, first come. */
  readonly #listed = new Map<string, string>();
  /** URI → upstream, from notifications (first come; a list entry takes precedence). */
  readonly #seen = new Map<string, string>();

  constructor(upstreams: readonly { name: string; prefix: boolean }[]) {
    this.#prefixed = new Set(upstreams.filter((u) => u.prefix).map((u) => u.name));
    this.#plain = upstreams.filter((u) => !u.prefix).map((u) => u.name);
  }

  publicName(upstream: string, name: string): string {
    if (this.#prefixed.has(upstream)) return `${upstream}__${name}`;
    if (this.#plain.length > 1 && !this.#listed.has(`n:${name}`))
      this.#listed.set(`n:${name}`, upstream);
    return name;
  }

  /**
   * The upstream a listed name (`kind` "n") or URI ("u") of a `prefix: false` upstream belongs
   * to, once several such upstreams share the names; undefined when there is no such sharing.
   */
  owner(kind: "n" | "u", key: string): string | undefined {
    return this.#plain.length > 1 ? this.#listed.get(`${kind}:${key}`) : undefined;
  }

  route(publicName: string): Routed | undefined {
    const i = publicName.indexOf("__");
    if (i > 0) {
      const u = publicName.slice(0, i);
      if (this.#prefixed.has(u)) return { upstream: u, name: publicName.slice(i + 2) };
    }
    if (this.#plain.length === 1) return { upstream: this.#plain[0]!, name: publicName };
    const u = this.#listed.get(`n:${publicName}`);
    return u === undefined ? undefined : { upstream: u, name: publicName };
  }

  /** The public URI; `listed`: it comes from a list (else from a notification or content). */
  publicUri(upstream: string, uri: string, listed = false): string {
    if (this.#prefixed.has(upstream)) return `${upstream}+${uri}`;
    if (this.#plain.length > 1) {
      const map = listed ? this.#listed : this.#seen;
      if (!map.has(`u:${uri}`)) map.set(`u:${uri}`, upstream);
    }
    return uri;
  }

  routeUri(publicUri: string): Routed | undefined {
    const i = publicUri.indexOf("+");
    if (i > 0) {
      const u = publicUri.slice(0, i);
      if (this.#prefixed.has(u)) return { upstream: u, name: publicUri.slice(i + 1) };
    }
    if (this.#plain.length === 1) return { upstream: this.#plain[0]!, name: publicUri };
    const u =
      this.#listed.get(`u:${publicUri}`) ?? this.#seen.get(`u:${publicUri}`) ?? this.#plain[0];
    return u === undefined ? undefined : { upstream: u, name: publicUri };
  }
}

/**
 * Why `name` cannot be an upstream's name beside the `earlier` ones, or undefined. Names are
 * prefixes (`<name>__<tool>`, `<name>+<uri>`) and must read back one way: a name ending in "_"
 * makes `ev___echo` both `ev_` + `echo` and `ev` + `_echo` (routing takes the first "__", so its
 * own tools would not even reach it); two names equal but for case make one URI scheme
 * (`Ev+test://x` and `ev+test://x` are the same URI to `new URL` and to the policy).
 */
export function prefixClash(name: string, earlier: Iterable<string>): string | undefined {
  if (name.endsWith("_"))
    return `Upstream name "${name}" must not end with "_": its tools would be named "${name}__<tool>", which also reads as upstream "${name.replace(/_+$/, "")}" with tool "_<tool>". Remove the trailing "_".`;
  const lower = name.toLowerCase();
  for (const e of earlier)
    if (e !== name && e.toLowerCase() === lower)
      return `Upstream names "${e}" and "${name}" differ only in case: their resource URIs ("${e}+<uri>", "${name}+<uri>") have the same URI scheme, which is compared without case. Rename one.`;
  return undefined;
}

/**
 * Why `name` cannot prefix resource URIs (`<name>+<uri>`), if it cannot: the prefix becomes part
 * of a URI scheme, which is a letter followed by letters, digits, "+", "-" and "." (RFC 3986),
 * so the policy would refuse every such URI.
 */
export function uriPrefixProblem(name: string): string | undefined {
  if (/^[A-Za-z][A-Za-z0-9-]*$/.test(name)) return undefined;
  const fix = name.replace(/_/g, "-").replace(/^[^A-Za-z]+/, "");
  return `Upstream name "${name}" cannot prefix its resource URIs: "${name}+<uri>" is not a URI scheme (a letter, then letters, digits and "-"), so the policy would refuse every one of them. Rename it${fix !== "" && fix !== name ? ` (e.g. "${fix}")` : ""}, or set prefix: false on it.`;
}

/** A merged list cursor: the upstream cursors still to fetch (null = first page). */
export type MergedCursor = Record<string, string | null>;

export function encodeCursor(c: MergedCursor): string {
  return Buffer.from(JSON.stringify(c)).toString("base64url");
}

export function decodeCursor(s: unknown): MergedCursor | undefined {
  if (typeof s !== "string") return undefined;
  try {
    const v = JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
    for (const x of Object.values(v)) if (x !== null && typeof x !== "string") return undefined;
    return v as MergedCursor;
  } catch {
    return undefined;
  }
}
