/**
 * Public names across merged upstreams: tools and prompts become `<upstream>__<name>`,
 * resource URIs `<upstream>+<uri>` (still a valid URI: the scheme gains a prefix). An upstream
 * with `prefix: false` keeps its own names; names it serves are learned from its lists.
 */
export interface Routed {
  upstream: string;
  name: string;
}

export class Naming {
  readonly #prefixed: Set<string>;
  readonly #plain: string[];
  /** name or URI → upstream, for upstreams without prefix (learned from lists). */
  readonly #learned = new Map<string, string>();

  constructor(upstreams: readonly { name: string; prefix: boolean }[]) {
    this.#prefixed = new Set(upstreams.filter((u) => u.prefix).map((u) => u.name));
    this.#plain = upstreams.filter((u) => !u.prefix).map((u) => u.name);
  }

  publicName(upstream: string, name: string): string {
    if (this.#prefixed.has(upstream)) return `${upstream}__${name}`;
    if (this.#plain.length > 1) this.#learned.set(`n:${name}`, upstream);
    return name;
  }

  route(publicName: string): Routed | undefined {
    const i = publicName.indexOf("__");
    if (i > 0) {
      const u = publicName.slice(0, i);
      if (this.#prefixed.has(u)) return { upstream: u, name: publicName.slice(i + 2) };
    }
    if (this.#plain.length === 1) return { upstream: this.#plain[0]!, name: publicName };
    const u = this.#learned.get(`n:${publicName}`);
    return u === undefined ? undefined : { upstream: u, name: publicName };
  }

  publicUri(upstream: string, uri: string): string {
    if (this.#prefixed.has(upstream)) return `${upstream}+${uri}`;
    if (this.#plain.length > 1) this.#learned.set(`u:${uri}`, upstream);
    return uri;
  }

  routeUri(publicUri: string): Routed | undefined {
    const i = publicUri.indexOf("+");
    if (i > 0) {
      const u = publicUri.slice(0, i);
      if (this.#prefixed.has(u)) return { upstream: u, name: publicUri.slice(i + 1) };
    }
    if (this.#plain.length === 1) return { upstream: this.#plain[0]!, name: publicUri };
    const u = this.#learned.get(`u:${publicUri}`) ?? this.#plain[0];
    return u === undefined ? undefined : { upstream: u, name: publicUri };
  }
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
