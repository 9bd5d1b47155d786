/**
 * A component upstream (`upstreams: [{ name, component, policy?, stateful? }]`): WebAssembly
 * components served as MCP tools (src/hosted) inside the gateway, reached through the SDK's
 * in-memory transport pair, so the gateway judges them with the same policy, guards and audit
 * as any upstream. The components and their worker pool are loaded once per upstream entry and
 * shared by every session; each session gets its own MCP server over them.
 *
 * A file change (a component, its WIT, the upstream's policy files) reloads the components at
 * once (src/hosted/watch.ts): a new version that loads is swapped in and every session's client
 * is told to list again; one that cannot be loaded is refused and the old one keeps serving. The
 * gateways that use the upstream hear of each reload (`followComponentReloads`: a log line and
 * an audit line, kind component_reload).
 *
 * A reload of the gateway's config that changes or removes the entry, and the gateway's stop,
 * let go of the old server: it is closed (worker threads ended, file watcher closed) as soon as
 * the sessions' links to it are closed, which a reload does at once, as for a stdio upstream.
 */
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type {
  Transport,
  TransportSendOptions,
} from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { serveOn } from "../hosted/mcp-server.js";
import { HostedServer, type ReloadOutcome } from "../hosted/server.js";
import type { ComponentUpstreamConfig, UpstreamConfig } from "./config-types.js";
import { isRequest, isResponse, type Message } from "./jsonrpc.js";
import type { UpstreamTransport } from "./upstream-transport.js";

/**
 * One loaded upstream entry: its server and the transports open on it. Once no transport is open
 * on it and no gateway's config has it (`holdComponents`), as after a reload that changed or
 * removed the entry or a gateway's stop, the server is closed: its worker pool terminated and
 * its file watcher closed.
 */
interface Entry {
  readonly cfg: ComponentUpstreamConfig;
  readonly server: Promise<HostedServer>;
  transports: number;
  /** Resolves once the server is closed (its worker threads ended, its watcher closed). */
  readonly closed: Promise<void>;
  close: () => void;
}

const loaded = new Map<string, Entry>();
/** The keys of the component upstreams each gateway's config has now. */
const held = new Map<object, Set<string>>();
const listeners = new Set<(cfg: ComponentUpstreamConfig, r: ReloadOutcome) => void>();

const keyOf = (cfg: ComponentUpstreamConfig) =>
  JSON.stringify([
    cfg.name,
    cfg.component,
    cfg.policies,
    cfg.instance,
    cfg.maxInstances,
    cfg.instancesMemoryMb,
    cfg.maxQueued,
  ]);

/**
 * Hear of every reload of a component upstream's files (`cfg` names the upstream entry): a
 * gateway writes its log and audit lines from it. Returns a function to stop.
 */
export function followComponentReloads(
  fn: (cfg: ComponentUpstreamConfig, r: ReloadOutcome) => void,
): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The component servers loaded now (for tests and views): each entry's config and server. */
export function componentServers(): {
  cfg: ComponentUpstreamConfig;
  server: Promise<HostedServer>;
  closed: Promise<void>;
}[] {
  return [...loaded.values()].map((e) => ({ cfg: e.cfg, server: e.server, closed: e.closed }));
}

function entryFor(cfg: ComponentUpstreamConfig): Entry {
  const key = keyOf(cfg);
  const had = loaded.get(key);
  if (had !== undefined) return had;
  const server = HostedServer.open({
    path: cfg.component,
    policies: cfg.policies,
    stateful: cfg.stateful,
    instance: cfg.instance,
    sessions: {
      ...(cfg.maxInstances === undefined ? {} : { max: cfg.maxInstances }),
      ...(cfg.instancesMemoryMb === undefined
        ? {}
        : { memoryBytes: cfg.instancesMemoryMb * 1024 * 1024 }),
    },
    pool: {
      ...(cfg.maxQueued === undefined ? {} : { maxQueued: cfg.maxQueued }),
      maxQueuedKey: `max_queued of upstream "${cfg.name}"`,
    },
    watch: true,
  });
  let done!: () => void;
  const closed = new Promise<void>((r) => {
    done = r;
  });
  const entry: Entry = {
    cfg,
    server,
    transports: 0,
    closed,
    close: () => {
      if (loaded.get(key) === entry) loaded.delete(key);
      server.then((h) => h.close()).then(done, done);
    },
  };
  loaded.set(key, entry);
  server.then(
    (h) =>
      h.onReload((r) => {
        for (const l of listeners) l(cfg, r);
      }),
    () => {
      if (loaded.get(key) === entry) loaded.delete(key);
      done();
    },
  );
  return entry;
}

/** Close the entry when no gateway holds it and no transport is open on it. */
function maybeClose(entry: Entry): Promise<void> {
  const key = keyOf(entry.cfg);
  if (entry.transports > 0 || [...held.values()].some((keys) => keys.has(key)))
    return Promise.resolve();
  if (loaded.get(key) === entry) entry.close();
  return entry.closed;
}

/**
 * The component upstreams `owner` (a gateway) uses now: its whole list, given at start and at
 * each reload; `[]` at its stop. The entries it no longer uses are let go, and each one that
 * nobody holds and no session's link is open on any more is closed: the same rule as a stdio
 * upstream a reload drops, whose links the sessions close at once. Resolves when the entries
 * closed by this call are closed (worker threads ended).
 */
export function holdComponents(owner: object, cfgs: readonly UpstreamConfig[]): Promise<void> {
  const before = held.get(owner) ?? new Set<string>();
  const now = new Set<string>();
  for (const u of cfgs) if (u.kind === "component") now.add(keyOf(u));
  if (now.size > 0) held.set(owner, now);
  else held.delete(owner);
  const closing: Promise<void>[] = [];
  for (const key of before) {
    const e = loaded.get(key);
    if (!now.has(key) && e !== undefined) closing.push(maybeClose(e));
  }
  return Promise.all(closing).then(() => {});
}

/**
 * The gateway's side of the in-memory pair, closed gently: a session that closes with tool calls
 * in flight (cut off) is told closed at once, but the pair stays open until those calls are
 * answered, so their answers, which carry the host calls they made, still reach the session
 * (src/mcp/host-call-lines.ts audits them after the `cut_off` outcome line). The calls are
 * sent `notifications/cancelled`: one still waiting for a core leaves the queue at once; one
 * running ends by its own deadline (a component call cannot be stopped half-way). Its tasks
 * still running are sent `tasks/cancel` (their workers are terminated), and the pair stays open
 * until each one's end (notifications/tasks/status, carrying its host calls) has come.
 */
class DrainingTransport implements Transport {
  onmessage?: Transport["onmessage"];
  onclose?: () => void;
  onerror?: (e: Error) => void;
  readonly #inflight = new Set<string | number>();
  /** Tasks created through this link and not ended yet (their end carries their host calls). */
  readonly #tasks = new Set<string>();
  #closed = false;

  constructor(
    private readonly inner: InMemoryTransport,
    private readonly closing: () => void,
  ) {
    inner.onmessage = (m, extra) => {
      const msg = m as Message;
      if (isResponse(msg) && msg.id !== null) {
        // the answer to a tasks/cancel this transport sent at close: nobody else's
        if (typeof msg.id === "string" && msg.id.startsWith(CLOSE_CANCEL)) return this.#drained();
        this.#inflight.delete(msg.id as string | number);
        const task = (msg as { result?: { task?: { taskId?: unknown; status?: unknown } } }).result
          ?.task;
        if (typeof task?.taskId === "string" && !ENDED.has(String(task.status)))
          this.#tasks.add(task.taskId);
      } else if ((msg as { method?: string }).method === "notifications/tasks/status") {
        const p = ((msg as { params?: Record<string, unknown> }).params ?? {}) as {
          taskId?: unknown;
          status?: unknown;
        };
        if (ENDED.has(String(p.status))) this.#tasks.delete(String(p.taskId));
      }
      this.onmessage?.(m, extra);
      this.#drained();
    };
    inner.onerror = (e) => this.onerror?.(e);
    inner.onclose = () => this.#told();
  }

  #drained(): void {
    if (this.#closed && this.#inflight.size === 0 && this.#tasks.size === 0)
      void this.inner.close();
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  async send(m: JSONRPCMessage, opts?: TransportSendOptions): Promise<void> {
    if (this.#closed) throw new Error("Not connected");
    const msg = m as Message;
    if (isRequest(msg)) this.#inflight.add(msg.id as string | number);
    await this.inner.send(m, opts);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#inflight.size === 0 && this.#tasks.size === 0) {
      await this.inner.close();
      return;
    }
    this.#told();
    for (const requestId of this.#inflight)
      this.inner
        .send({
          jsonrpc: "2.0",
          method: "notifications/cancelled",
          params: { requestId, reason: "Warden: the session closed" },
        })
        .catch(() => {});
    // Its running tasks are cancelled (their components stopped); their ends still come, with
    // the host calls they made, which the closed session audits.
    let n = 0;
    for (const taskId of this.#tasks)
      this.inner
        .send({
          jsonrpc: "2.0",
          id: `${CLOSE_CANCEL}${n++}`,
          method: "tasks/cancel",
          params: { taskId },
        })
        .catch(() => {});
  }

  #told(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.closing();
    this.onclose?.();
  }
}

/** The ids of the tasks/cancel requests a closing link sends. */
const CLOSE_CANCEL = "warden-close-cancel-";
const ENDED = new Set(["completed", "failed", "cancelled"]);

export async function componentTransport(cfg: ComponentUpstreamConfig): Promise<UpstreamTransport> {
  const entry = entryFor(cfg);
  entry.transports++;
  let open = true;
  const release = () => {
    if (!open) return;
    open = false;
    entry.transports--;
    void maybeClose(entry);
  };
  try {
    const hosted = await entry.server;
    const [client, server] = InMemoryTransport.createLinkedPair();
    const srv = await serveOn(hosted, server, {
      hostCallsInMeta: true,
      tasks: {
        ...(cfg.maxTasks === undefined ? {} : { maxLive: cfg.maxTasks }),
        maxLiveKey: `max_tasks of upstream "${cfg.name}"`,
        ...(cfg.maxTaskResultBytes === undefined ? {} : { maxResultBytes: cfg.maxTaskResultBytes }),
        maxResultBytesKey: `max_task_result_bytes of upstream "${cfg.name}"`,
        ...(cfg.maxSessionTaskResultBytes === undefined
          ? {}
          : { maxHeldBytes: cfg.maxSessionTaskResultBytes }),
        maxHeldBytesKey: `max_session_task_result_bytes of upstream "${cfg.name}"`,
      },
    });
    const onclose = srv.onclose;
    srv.onclose = () => {
      onclose?.();
      release();
    };
    const transport = new DrainingTransport(client, release);
    return { transport, setProtocolVersion: () => {}, pid: () => null };
  } catch (e) {
    release();
    throw e;
  }
}
