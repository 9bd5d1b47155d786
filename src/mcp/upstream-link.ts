/**
 * One connection from one downstream session to one upstream server, with restart and
 * exponential backoff when the upstream dies. The session re-initializes it (`onrestart`).
 */
import { WardenError } from "../core/errors.js";
import type { MessageTracing } from "../telemetry/index.js";
import {
  MESSAGE_LIMITS,
  type MessageLimits,
  type RestartConfig,
  type UpstreamConfig,
} from "./config-types.js";
import type { Message } from "./jsonrpc.js";
import {
  createUpstreamTransport,
  type Received,
  type UpstreamTransport,
} from "./upstream-transport.js";

export type LinkState = "idle" | "up" | "down" | "failed" | "closed";

/**
 * Who keeps count of a link's life beyond the link (the gateway's upstream health, read by its
 * views and metrics): told of each restart, and when the link is closed for good.
 */
export interface LinkMonitor {
  restarted(link: UpstreamLink): void;
  closed(link: UpstreamLink): void;
}

/** Calls that may wait for one link a config reload added (past it: unavailable at once). */
export const MAX_WAITING = 1024;

/** An upstream that stays up this long has its restart counter reset. */
const STABLE_MS = 10_000;

/** Start errors no restart can fix: the command or its cwd is missing, or not executable. */
function permanent(cause: unknown): boolean {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "EACCES" || code === "ENOTDIR" || code === "EISDIR";
}

/** A reason for the log, without the upstream's name (the log line names it once). */
function why(e: Error): string {
  const w = (e as { details?: { why?: unknown } }).details?.why;
  return typeof w === "string" ? w : e.message;
}

export class UpstreamLink {
  readonly name: string;
  readonly cfg: UpstreamConfig;
  state: LinkState = "idle";
  attempts = 0;
  restarts = 0;
  /** A start is under way (the first, or a restart). */
  starting = false;
  /** Why it last went down or failed to start, and when (ISO time). */
  lastError: { readonly message: string; readonly at: string } | undefined;
  /** Told of restarts and of the close (the gateway's upstream health). */
  monitor: LinkMonitor | undefined;
  #t: UpstreamTransport | undefined;
  #upSince = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Set when the last start failed in a way no restart can fix (no more restarts). */
  #permanent = false;
  /**
   * Requests waiting, in arrival order, for a link a config reload added to be started and
   * initialized (`hold` .. `release`); undefined when calls go at once.
   */
  #waiting: (() => void)[] | undefined;
  /** A message from the upstream, with its exact text and related request where known. */
  onmessage: (r: Received) => void = () => {};
  /** Called once each time the link goes down (pending requests must be failed). */
  ondown: (reason: string) => void = () => {};
  /** Called after a restarted transport is connected; re-initializes the upstream session. */
  onrestart: () => Promise<void> = async () => {};
  log: (line: string) => void = () => {};
  limits: MessageLimits = MESSAGE_LIMITS;
  /** telemetry.otlp: each message sent carries its call's trace context (docs/telemetry.md). */
  tracing: MessageTracing | undefined;
  /** Where the connection comes from instead of a transport of its own (a shared upstream). */
  connect: (() => Promise<UpstreamTransport>) | undefined;

  constructor(
    cfg: UpstreamConfig,
    readonly restart: RestartConfig,
  ) {
    this.name = cfg.name;
    this.cfg = cfg;
  }

  /** Connect (spawn or open). Throws `upstream_failed` naming the upstream and the cause. */
  async start(): Promise<void> {
    this.starting = true;
    try {
      await this.#start();
    } catch (e) {
      this.lastError = { message: why(e as Error), at: new Date().toISOString() };
      throw e;
    } finally {
      this.starting = false;
    }
  }

  async #start(): Promise<void> {
    let t: UpstreamTransport;
    try {
      t = await (this.connect?.() ?? createUpstreamTransport(this.cfg, this.limits));
    } catch (cause) {
      if (cause instanceof WardenError) throw cause;
      throw new WardenError(
        "upstream_failed",
        `Upstream "${this.name}": ${(cause as Error).message}`,
        { category: "config", cause },
      );
    }
    const tr = t.transport;
    if (t.receive !== undefined) t.receive((r) => this.onmessage(r));
    else
      tr.onmessage = (m) =>
        this.onmessage({ message: m as Message, raw: undefined, related: undefined });
    tr.onerror = (e) => this.log(`upstream "${this.name}": ${e.message.split("\n")[0]}`);
    tr.onclose = () => {
      if (this.#t === t) this.fail("the connection closed (the server exited or hung up)");
    };
    try {
      await tr.start();
    } catch (cause) {
      const where =
        this.cfg.kind === "http" ? `url ${this.cfg.url}` : `command "${this.cfg.command}"`;
      const reason = `could not start (${where}): ${(cause as Error).message}`;
      this.#permanent = this.cfg.kind === "stdio" && permanent(cause);
      throw new WardenError(
        "upstream_failed",
        `Upstream "${this.name}" ${reason}. Check the upstreams entry in the gateway config.`,
        { category: "config", cause, details: { upstream: this.name, why: reason } },
      );
    }
    this.#permanent = false;
    if (this.state === "closed") {
      // closed while it started (its session ended): never left running unowned
      await tr.close().catch(() => {});
      throw new WardenError(
        "upstream_failed",
        `Upstream "${this.name}" was closed as it started.`,
        {
          category: "config",
          details: { upstream: this.name, why: "closed as it started" },
        },
      );
    }
    this.#t = t;
    this.state = "up";
    this.#upSince = Date.now();
  }

  /**
   * Calls from now on wait (`whenReady`) until `release`: the session is starting and
   * initializing this link (a config reload just added it), so that a call arriving meanwhile
   * is sent once the link is ready instead of failing as unavailable.
   */
  hold(): void {
    if (this.state !== "closed") this.#waiting ??= [];
  }

  /** The link is started and initialized, or failed to be: the waiting calls go, in order. */
  release(): void {
    const w = this.#waiting;
    this.#waiting = undefined;
    if (w !== undefined) for (const go of w) go();
  }

  /**
   * Run `go` once the link is ready: at once unless it is held; in arrival order while it is.
   * False (and `go` not kept) when MAX_WAITING calls already wait: the caller answers it as
   * unavailable.
   */
  whenReady(go: () => void): boolean {
    const w = this.#waiting;
    if (w === undefined) go();
    else if (w.length >= MAX_WAITING) return false;
    else w.push(go);
    return true;
  }

  /** Whether calls wait for this link to be started and initialized. */
  get held(): boolean {
    return this.#waiting !== undefined;
  }

  setProtocolVersion(v: string): void {
    this.#t?.setProtocolVersion(v);
  }

  pid(): number | null {
    return this.#t?.pid() ?? null;
  }

  /**
   * Send without a Promise where the transport allows (stdio, lean HTTP); `onFail` hears of a
   * link that is not up or a send that failed (the link is then marked down). `trace`: the
   * call's trace headers (traceparent, tracestate), sent by HTTP transports; with `tracing`,
   * the client message being handled gives them when the call does not.
   */
  post(m: Message, onFail?: (e: Error) => void, trace?: readonly string[]): void {
    if (this.tracing !== undefined) [m, trace] = this.tracing.outgoing(m, trace);
    const t = this.#t;
    if (t === undefined || this.state !== "up") {
      onFail?.(new Error(`upstream "${this.name}" is ${this.state}`));
      return;
    }
    if (t.write !== undefined) {
      try {
        t.write(
          m,
          (e) => {
            if (this.#t === t) this.fail(`sending failed: ${e.message}`);
            onFail?.(e);
          },
          trace,
        );
      } catch (e) {
        // This message could not be sent (say, not serializable): its sender hears, the link stays.
        onFail?.(e as Error);
      }
      return;
    }
    t.transport.send(m as never).catch((e: Error) => {
      if (this.#t === t) this.fail(`sending failed: ${e.message}`);
      onFail?.(e);
    });
  }

  send(m: Message): Promise<void> {
    const t = this.#t;
    if (t === undefined || this.state !== "up")
      return Promise.reject(new Error(`upstream "${this.name}" is ${this.state}`));
    return t.transport.send(m as never).catch((e: Error) => {
      if (this.#t === t) this.fail(`sending failed: ${e.message}`);
      throw e;
    });
  }

  /** Mark the link down (once), fail what is pending, and schedule a restart. */
  fail(reason: string): void {
    if (this.state !== "up") return;
    const t = this.#t;
    this.#t = undefined;
    this.state = "down";
    if (Date.now() - this.#upSince > STABLE_MS) this.attempts = 0;
    t?.transport.close().catch(() => {});
    this.ondown(reason);
    this.#schedule(reason);
  }

  /** The first start failed: go down and try again with backoff (unless no restart can help). */
  retryLater(reason: string | Error): void {
    if (this.state === "closed") return;
    if (this.state === "up") {
      const t = this.#t;
      this.#t = undefined;
      t?.transport.close().catch(() => {});
    }
    this.state = "down";
    this.#schedule(typeof reason === "string" ? reason : why(reason));
  }

  /** Schedule the next restart: one at a time (a failure seen twice is one failure). */
  #schedule(reason: string): void {
    if (this.state === "closed") return;
    this.lastError = { message: reason, at: new Date().toISOString() };
    if (this.#timer !== undefined) return;
    if (this.#permanent) {
      this.state = "failed";
      this.log(
        `upstream "${this.name}" ${reason}; not restarting: no restart can fix this. Install the command or fix its entry under upstreams in the gateway config, then reload.`,
      );
      return;
    }
    if (this.attempts >= this.restart.maxAttempts) {
      this.state = "failed";
      this.log(
        `upstream "${this.name}" ${reason}; gave up after ${this.attempts} restart attempts (restart.max_attempts)`,
      );
      return;
    }
    const delay = Math.min(this.restart.initialMs * 2 ** this.attempts, this.restart.maxMs);
    this.attempts++;
    this.log(
      `upstream "${this.name}" ${reason}; restarting in ${delay} ms (attempt ${this.attempts} of ${this.restart.maxAttempts})`,
    );
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.state !== "down") return;
      this.start()
        .then(() => this.onrestart())
        .then(() => {
          this.restarts++;
          this.monitor?.restarted(this);
          this.log(`upstream "${this.name}" is back`);
        })
        .catch((e: Error) => {
          // Either the start failed, or it came up and the re-initialize failed; if the link
          // went down meanwhile, fail() has already scheduled the next attempt (#schedule
          // then does nothing: one attempt per failure).
          if (this.state === "up") {
            this.state = "down";
            const t = this.#t;
            this.#t = undefined;
            t?.transport.close().catch(() => {});
          }
          if (this.state === "down") this.#schedule(why(e));
        });
    }, delay);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    if (this.state !== "closed") this.monitor?.closed(this);
    this.state = "closed";
    this.release(); // the waiting calls fail as unavailable (the link is closed)
    if (this.#timer) clearTimeout(this.#timer);
    const t = this.#t;
    this.#t = undefined;
    if (t) {
      if ("terminateSession" in t.transport)
        await (t.transport as { terminateSession(): Promise<void> })
          .terminateSession()
          .catch(() => {});
      await t.transport.close().catch(() => {});
    }
  }
}
