/**
 * The upstream links of one session: one UpstreamLink per configured upstream (a channel on the
 * gateway's connection for a `sessions: shared` one), each one's capabilities from its
 * initialize result, the public names across them (naming.ts), and their lifecycle: made at
 * start, swapped by a config reload, closed with the session.
 */
import type { RestartConfig, UpstreamConfig } from "./config-types.js";
import type { Notification } from "./jsonrpc.js";
import { Naming } from "./naming.js";
import type { Downstream, GatewayContext } from "./session-core.js";
import { UpstreamLink } from "./upstream-link.js";
import type { Received } from "./upstream-transport.js";

type Obj = Record<string, unknown>;

/** What the session hears from its links. */
export interface LinkEvents {
  /** A message from the upstream. */
  message(link: UpstreamLink, r: Received): void;
  /** The link went down, or was removed: what is pending on it fails. */
  down(link: UpstreamLink, reason: string): void;
  /** The link came back after a restart: initialize it again. */
  restarted(link: UpstreamLink): Promise<void>;
}

export class SessionLinks {
  readonly #links = new Map<string, UpstreamLink>();
  /** Upstream capabilities from its initialize result. */
  readonly caps = new Map<string, Obj>();
  /** The public names of tools, prompts and resources across the links (rebuilt on reload). */
  naming: Naming;

  constructor(
    readonly ctx: GatewayContext,
    readonly events: LinkEvents,
    /** The session's client (an upstream with token_exchange trades its access token). */
    readonly down?: Downstream,
  ) {
    this.naming = new Naming(ctx.upstreams);
    for (const cfg of ctx.upstreams) this.#make(cfg, ctx.restart);
  }

  get size(): number {
    return this.#links.size;
  }

  get(name: string): UpstreamLink | undefined {
    return this.#links.get(name);
  }

  values(): IterableIterator<UpstreamLink> {
    return this.#links.values();
  }

  names(): IterableIterator<string> {
    return this.#links.keys();
  }

  /** The first link that is up, else the first link (its call then fails as unavailable). */
  firstUp(): UpstreamLink | undefined {
    for (const l of this.#links.values()) if (l.state === "up") return l;
    return this.#links.values().next().value;
  }

  /** Drop a link from this session before it starts (its connection was refused). */
  drop(link: UpstreamLink): void {
    this.#links.delete(link.name);
    this.caps.delete(link.name);
    link.close().catch(() => {});
  }

  #make(cfg: UpstreamConfig, restart: RestartConfig): UpstreamLink {
    const link = new UpstreamLink(cfg, restart);
    link.onmessage = (r) => this.events.message(link, r);
    link.ondown = (reason) => this.events.down(link, reason);
    link.onrestart = () => this.events.restarted(link);
    link.log = this.ctx.log;
    link.tracing = this.ctx.tracing;
    const shared = this.ctx.shared?.(cfg);
    if (shared !== undefined) {
      // one connection for every session: this link is this session's channel on it
      link.connect = () => shared.connect();
      link.log = () => {}; // the shared link logs its restarts once, not once per session
    }
    if (this.ctx.limits !== undefined) link.limits = this.ctx.limits;
    if (cfg.kind === "http" && cfg.tokenExchange !== undefined) {
      // its token is exchanged for the caller's, never the caller's own (fail closed without one)
      const { exchangeConnect: connect } = this.ctx;
      const down = this.down;
      link.connect = async () => {
        if (connect === undefined || down === undefined)
          throw new Error("token_exchange needs auth.oauth.token_endpoint and an HTTP client");
        return connect(cfg, down, this.ctx.limits);
      };
    }
    this.#links.set(cfg.name, link);
    this.ctx.linkMade?.(link);
    return link;
  }

  /**
   * A config reload changed the upstreams: close the links that are gone or changed (failing
   * what is pending on them), make links for the new ones (returned, not started yet), and
   * rebuild the names.
   */
  swap(cfgs: readonly UpstreamConfig[], restart: RestartConfig): UpstreamLink[] {
    const next = new Map(cfgs.map((c) => [c.name, c]));
    for (const [name, link] of [...this.#links]) {
      const c = next.get(name);
      if (c !== undefined && JSON.stringify(c) === JSON.stringify(link.cfg)) continue;
      this.events.down(link, "removed or changed by a config reload");
      link.close().catch(() => {});
      this.#links.delete(name);
      this.caps.delete(name);
    }
    const added: UpstreamLink[] = [];
    for (const c of cfgs) if (!this.#links.has(c.name)) added.push(this.#make(c, restart));
    const ordered = cfgs.map((c) => this.#links.get(c.name)!);
    this.#links.clear();
    for (const l of ordered) this.#links.set(l.name, l);
    this.naming = new Naming(cfgs);
    return added;
  }

  /** The links (name, state, child pid, restarts), for status and tests. */
  upstreams(): { name: string; state: string; pid: number | null; restarts: number }[] {
    return [...this.#links.values()].map((l) => ({
      name: l.name,
      state: l.state,
      pid: l.pid(),
      restarts: l.restarts,
    }));
  }

  /** A client notification for every upstream that is up. */
  broadcast(n: Notification): void {
    for (const link of this.#links.values()) if (link.state === "up") link.post(n);
  }

  /** Close every link (children are stopped). */
  async close(): Promise<void> {
    await Promise.all([...this.#links.values()].map((l) => l.close()));
  }
}
