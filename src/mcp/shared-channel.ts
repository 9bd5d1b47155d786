/**
 * One client session's view of a shared upstream (`upstreams[].sessions: shared`): a transport
 * the session's UpstreamLink uses as if it were its own upstream. What the session sends goes
 * through the SharedUpstream, which remaps ids and progress tokens; what comes back for this
 * session is delivered here with the session's own ids.
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { Id, Message } from "./jsonrpc.js";
import type { UpstreamTransport } from "./upstream-transport.js";

/** What a channel needs from its SharedUpstream. */
export interface ChannelHost {
  /** A message from the session (request, answer or notification) towards the upstream. */
  fromSession(ch: SharedChannel, m: Message, onFail: (e: Error) => void): void;
  /** The session closed its link: release what it holds (calls, subscriptions). */
  detach(ch: SharedChannel): void;
  pid(): number | null;
}

export class SharedChannel {
  /** This session's requests in flight upstream: its own id → the gateway-unique id. */
  readonly out = new Map<Id, number>();
  /** The session's resources/subscribe URIs (the upstream's own URIs). */
  readonly subs = new Set<string>();
  #closed = false;
  readonly transport: Transport;

  constructor(
    readonly host: ChannelHost,
    /** For logs and audit lines: which session this is (its number in the hub). */
    readonly n: number,
  ) {
    const t: Transport = {
      start: async () => {},
      send: (m) =>
        new Promise<void>((resolve, reject) => {
          this.host.fromSession(this, m as Message, reject);
          resolve();
        }),
      close: async () => {
        if (this.#closed) return;
        this.#closed = true;
        this.host.detach(this);
        t.onclose?.();
      },
    };
    this.transport = t;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The upstream side as an UpstreamTransport for the session's UpstreamLink. */
  upstreamTransport(): UpstreamTransport {
    return {
      transport: this.transport,
      // one protocol version for the shared connection: the gateway negotiated it once
      setProtocolVersion: () => {},
      pid: () => this.host.pid(),
      write: (m, onFail) => {
        if (this.#closed) return onFail(new Error("the shared upstream's connection closed"));
        this.host.fromSession(this, m as Message, onFail);
      },
    };
  }

  /** A message for this session (its own ids and tokens restored). */
  deliver(m: Message): void {
    if (!this.#closed) this.transport.onmessage?.(m as never);
  }

  /** The same, after the current call returns (answers the hub makes itself). */
  deliverSoon(m: Message): void {
    queueMicrotask(() => this.deliver(m));
  }

  /** The shared upstream went down: the session's link sees its connection close. */
  hangUp(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.transport.onclose?.();
  }
}
