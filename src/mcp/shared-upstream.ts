/**
 * One upstream connection (one process for a command upstream) serving every client session of
 * the gateway: `upstreams[].sessions: shared` (docs/gateway.md, "Shared upstreams").
 *
 * The gateway starts and initializes it once (and again after each restart); each session
 * talks to it through a SharedChannel and judges what it sees exactly as with its own upstream.
 * What goes where between them (ids, progress tokens, server→client requests, notifications,
 * subscriptions) is shared-routes.ts.
 */
import type { RestartConfig, UpstreamConfig } from "./config-types.js";
import type { Message } from "./jsonrpc.js";
import { type ChannelHost, SharedChannel } from "./shared-channel.js";
import { type SharedContext, SharedRoutes } from "./shared-routes.js";
import { UpstreamLink } from "./upstream-link.js";
import type { UpstreamTransport } from "./upstream-transport.js";

export type { SharedContext };

type Obj = Record<string, unknown>;

/** The protocol version the gateway asks for when the first session named none. */
const DEFAULT_VERSION = "2025-11-25";
/** How long a session waits for a restarting shared upstream before its own link retries. */
const COME_BACK_MS = 30_000;

export class SharedUpstream implements ChannelHost {
  readonly link: UpstreamLink;
  readonly #channels = new Set<SharedChannel>();
  readonly #routes: SharedRoutes;
  #seq = 0;
  #initParams: Obj | undefined;
  #init: Promise<Obj> | undefined;
  #starting: Promise<void> | undefined;
  #waiting: { ok: () => void; fail: (e: Error) => void }[] = [];

  constructor(
    readonly cfg: UpstreamConfig,
    restart: RestartConfig,
    readonly ctx: SharedContext,
  ) {
    const link = new UpstreamLink(cfg, restart);
    link.log = ctx.log;
    if (ctx.limits !== undefined) link.limits = ctx.limits;
    link.onmessage = (r) => this.#routes.fromUpstream(r.message, r.related);
    link.ondown = () => this.#down();
    link.onrestart = () => this.#restarted();
    this.link = link;
    const channels = this.#channels;
    this.#routes = new SharedRoutes({
      name: cfg.name,
      kind: cfg.kind,
      ctx,
      channels,
      up: () => link.state === "up",
      post: (m, onFail) => link.post(m, onFail),
      initialize: (p) => this.#initialize(p),
    });
  }

  get name(): string {
    return this.cfg.name;
  }

  pid(): number | null {
    return this.link.pid();
  }

  /** How many sessions use it now. */
  get sessions(): number {
    return this.#channels.size;
  }

  /**
   * Start the upstream now if it was never started (the gateway does so when it listens, so
   * that it is up, or restarting, before the first session; /readyz reports which).
   */
  warm(): void {
    if (this.link.state === "idle") this.#up().catch(() => {});
  }

  /** A session's link connects: start the upstream if it is not yet, wait while it restarts. */
  async connect(): Promise<UpstreamTransport> {
    await this.#up();
    const ch = new SharedChannel(this, ++this.#seq);
    this.#channels.add(ch);
    return ch.upstreamTransport();
  }

  async #up(): Promise<void> {
    const l = this.link;
    if (l.state === "up") return;
    if (l.state === "idle") {
      this.#starting ??= l.start().finally(() => {
        this.#starting = undefined;
      });
      try {
        await this.#starting;
      } catch (e) {
        l.retryLater(e as Error);
        throw e;
      }
      return;
    }
    if (l.state !== "down") throw new Error(`the shared upstream "${this.name}" is ${l.state}`);
    await new Promise<void>((ok, fail) => {
      const w = {
        ok: () => {
          clearTimeout(t);
          ok();
        },
        fail,
      };
      const t = setTimeout(() => {
        this.#waiting = this.#waiting.filter((x) => x !== w);
        fail(new Error(`the shared upstream "${this.name}" is still restarting`));
      }, COME_BACK_MS);
      t.unref();
      this.#waiting.push(w);
    });
  }

  /** Initialize the upstream once (per process); every session gets the same result. */
  #initialize(p: Obj | undefined): Promise<Obj> {
    this.#initParams ??= {
      protocolVersion: typeof p?.protocolVersion === "string" ? p.protocolVersion : DEFAULT_VERSION,
      // Sampling and elicitation are relayed to the session whose call asked; roots are not
      // asked of any session (one session's roots must not steer what another's calls reach).
      capabilities: { sampling: {}, elicitation: {} },
      clientInfo: { name: "warden-gateway", version: this.ctx.version },
    };
    const params = this.#initParams;
    this.#init ??= this.#routes
      .request("initialize", params)
      .then((a) => {
        if (!("result" in a))
          throw new Error(`initialize failed: ${(a.error as { message?: string }).message}`);
        if (typeof a.result.protocolVersion === "string")
          this.link.setProtocolVersion(a.result.protocolVersion);
        this.link.post({ jsonrpc: "2.0", method: "notifications/initialized" });
        return a.result;
      })
      .catch((e: Error) => {
        this.#init = undefined;
        throw e;
      });
    return this.#init;
  }

  /** The upstream came back (restarted): initialize it again, then let waiting sessions in. */
  async #restarted(): Promise<void> {
    if (this.#initParams !== undefined) await this.#initialize(undefined);
    const w = this.#waiting;
    this.#waiting = [];
    for (const x of w) x.ok();
  }

  /** The upstream went down: every session's link sees it (their calls fail, and are audited). */
  #down(): void {
    this.#init = undefined;
    this.#routes.reset();
    const chans = [...this.#channels];
    this.#channels.clear();
    for (const ch of chans) ch.hangUp();
  }

  /** A session's link closed (DELETE, idle, refused): cancel its calls, drop its subscriptions. */
  detach(ch: SharedChannel): void {
    if (this.#channels.delete(ch)) this.#routes.detach(ch);
  }

  fromSession(ch: SharedChannel, m: Message, onFail: (e: Error) => void): void {
    this.#routes.fromSession(ch, m, onFail);
  }

  async close(): Promise<void> {
    for (const w of this.#waiting) w.fail(new Error(`the shared upstream "${this.name}" closed`));
    this.#waiting = [];
    await this.link.close();
  }
}
