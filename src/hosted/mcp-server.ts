/**
 * A HostedServer as an MCP server (the official SDK's `Server`) on any transport: stdio for
 * `warden serve`, an in-memory pair for a gateway upstream.
 */
import { randomUUID } from "node:crypto";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  type CallToolRequest,
  CallToolRequestSchema,
  CancelledNotificationSchema,
  type CreateTaskResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";
import { WardenError } from "../core/errors.js";
import { HOST_CALLS_META, type HostedServer, type ToolAnswer } from "./server.js";
import { SessionTasks, type TaskBounds } from "./tasks.js";

export const SERVER_NAME = "warden-serve";

export interface ServeOptions {
  /** Put each call's host calls in the answer's `_meta["warden/host_calls"]` (a gateway upstream). */
  hostCallsInMeta?: boolean;
  /** Tasks of one session: how many may run at once, be kept, and for how long (./tasks.ts). */
  tasks?: TaskBounds;
}

export function mcpServerOf(hosted: HostedServer, opts: ServeOptions = {}): Server {
  // One MCP server is one session: per-session components keep one instance for it, dropped
  // when it closes; its tasks are its own (the SDK answers tasks/* from this store).
  const tasks = new SessionTasks(
    () => hosted.components.map((c) => `component "${c.name}"`).join(", "),
    opts.tasks,
  );
  const server = new Server(
    { name: SERVER_NAME, version: "0.1.0" },
    {
      capabilities: {
        tools: { listChanged: true },
        tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
      },
      taskStore: tasks,
    },
  );
  const session = randomUUID();
  server.onclose = () => {
    tasks.close();
    hosted.endSession(session);
  };
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: hosted.tools().map((t) => ({ ...t, execution: { taskSupport: "optional" as const } })),
  }));
  // A reload that changed the components: the client lists again.
  const stop = hosted.onReload((r) => {
    if (r.ok) server.sendToolListChanged().catch(() => {});
  });
  // A gateway upstream: a cancel (the client's, or the gateway's request_timeout_ms) does not
  // drop the answer. The call cannot be stopped half-way in its worker anyway (its deadline
  // still ends it), and its answer carries the host calls it made, which the gateway audits
  // even though nobody waits for the answer any more (src/mcp/session-calls.ts, late answers).
  // A call still waiting for a core (resources.limits.cpu) is dropped from the queue, though.
  // Its signal is its own controller's, aborted by that cancel or by the session's close (the
  // SDK's own request signal aborts only then, as the SDK's cancel handler is replaced here):
  // no AbortSignal.any per call (tens of µs in Node, its listeners included).
  const waiting = new Map<string | number, AbortController>();
  const closed = server.onclose;
  server.onclose = () => {
    stop();
    for (const c of waiting.values()) c.abort();
    closed?.();
  };
  if (opts.hostCallsInMeta === true)
    server.setNotificationHandler(CancelledNotificationSchema, (n) => {
      const id = n.params.requestId;
      if (id !== undefined) waiting.get(id)?.abort();
    });
  let client: { info: unknown; name: string | undefined } = { info: undefined, name: undefined };
  /**
   * A task-augmented tools/call: the task is answered at once; the call runs as a plain one
   * would (same validation, pool, limits, host-call audit), except that tasks/cancel ends it
   * while it runs. When it ends, its answer is the task's result and the client is told
   * (notifications/tasks/status; for a gateway upstream, with the call's host calls in its
   * `_meta`, which the gateway audits and takes out: the stored result never carries them).
   */
  const startTask = async (req: CallToolRequest): Promise<CreateTaskResult> => {
    let task: Awaited<ReturnType<SessionTasks["createTask"]>>;
    try {
      task = await tasks.createTask(req.params.task ?? {}, 0, req);
    } catch (e) {
      if (!(e instanceof WardenError)) throw e;
      throw new McpError(ErrorCode.InvalidRequest, `${e.code}: ${e.message}`, {
        warden: e.code,
        ...e.toJSON(),
      });
    }
    const ender = new AbortController();
    tasks.running(task.taskId, ender);
    const info = server.getClientVersion();
    void hosted
      .call(req.params.name, req.params.arguments as Record<string, unknown> | undefined, {
        session,
        signal: ender.signal,
        endRunning: true,
        ...(info === undefined ? {} : { client: `${info.name}@${info.version}` }),
        ...(opts.hostCallsInMeta === true ? { hostCallsInMeta: true } : {}),
      })
      .catch(
        (e: unknown): ToolAnswer => ({
          content: [{ type: "text", text: `internal error: ${(e as Error).message}` }],
          isError: true,
        }),
      )
      .then((answer) => {
        const calls = answer._meta?.[HOST_CALLS_META];
        if (answer._meta !== undefined) {
          delete answer._meta[HOST_CALLS_META];
          if (Object.keys(answer._meta).length === 0) delete answer._meta;
        }
        const now = tasks.ended(task.taskId, answer);
        const status = now ?? { ...task, status: "cancelled" as const };
        return server.notification({
          method: "notifications/tasks/status",
          params: {
            ...status,
            ...(calls === undefined ? {} : { _meta: { [HOST_CALLS_META]: calls } }),
          },
        });
      })
      .catch(() => {
        // the session closed: nobody to tell
      });
    return { task };
  };
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    if (req.params.task !== undefined) return startTask(req);
    const info = server.getClientVersion();
    if (info !== client.info)
      client = { info, name: info === undefined ? undefined : `${info.name}@${info.version}` };
    // `warden serve` over stdio: the SDK's request signal (a client's cancel, the close).
    let signal = extra.signal;
    if (opts.hostCallsInMeta === true) {
      const own = new AbortController();
      waiting.set(extra.requestId, own);
      signal = own.signal;
    }
    try {
      return await hosted.call(
        req.params.name,
        req.params.arguments as Record<string, unknown> | undefined,
        {
          session,
          signal,
          ...(client.name === undefined ? {} : { client: client.name }),
          ...(opts.hostCallsInMeta === true ? { hostCallsInMeta: true } : {}),
        },
      );
    } finally {
      if (opts.hostCallsInMeta === true) waiting.delete(extra.requestId);
    }
  });
  return server;
}

export async function serveOn(
  hosted: HostedServer,
  transport: Transport,
  opts: ServeOptions = {},
): Promise<Server> {
  const server = mcpServerOf(hosted, opts);
  await server.connect(transport);
  return server;
}
