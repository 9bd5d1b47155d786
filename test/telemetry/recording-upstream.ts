/**
 * A real SDK MCP server over Streamable HTTP (in this process) that records, for every JSON-RPC
 * message POSTed to it, its method and the W3C trace context it came with: the `traceparent` and
 * `tracestate` headers and `params._meta`. It serves what the gateway forwards on a client's
 * behalf: tools (`echo`; `slow`, which answers only when cancelled; task tools `job`, done at
 * once, and `pending_job`, working until cancelled), a prompt whose argument completes, a
 * resource that can be subscribed to, logging, and tasks (the SDK's in-memory task store).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { InMemoryTaskStore } from "@modelcontextprotocol/sdk/experimental/tasks/stores/in-memory.js";
import { completable } from "@modelcontextprotocol/sdk/server/completable.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  isInitializeRequest,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

export interface Recorded {
  method: string;
  /** params.name (a tool's, a prompt's), if any. */
  name: unknown;
  traceparent: string | undefined;
  tracestate: string | undefined;
  meta: Record<string, unknown> | undefined;
}

export interface RecordingUpstream {
  url: string;
  seen: Recorded[];
  close(): Promise<void>;
}

type Store = {
  createTask(o: object): Promise<{ taskId: string }>;
  storeTaskResult(id: string, status: string, r: object): Promise<void>;
  getTask(id: string): Promise<unknown>;
  getTaskResult(id: string): Promise<unknown>;
};
type Handler = (extra: { taskStore: Store; taskId: string }) => Promise<unknown>;

function mcpServer(): McpServer {
  const server = new McpServer(
    { name: "recording", version: "1.0.0" },
    {
      capabilities: {
        tools: {},
        prompts: {},
        resources: { subscribe: true },
        logging: {},
        completions: {},
        tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
      },
      taskStore: new InMemoryTaskStore(),
    },
  );
  server.registerTool("echo", { inputSchema: { text: z.string() } }, ({ text }) => ({
    content: [{ type: "text", text }],
  }));
  server.registerTool(
    "slow",
    {},
    (extra) =>
      new Promise((resolve) =>
        extra.signal.addEventListener("abort", () =>
          resolve({ content: [{ type: "text", text: "cancelled" }] }),
        ),
      ),
  );
  // typed loosely: the SDK's experimental task types want a result shape for the task store's
  const tasks = server.experimental.tasks as unknown as {
    registerToolTask(name: string, config: object, handler: Record<string, Handler>): void;
  };
  tasks.registerToolTask(
    "job",
    { execution: { taskSupport: "required" } },
    {
      createTask: async (extra) => {
        const task = await extra.taskStore.createTask({ ttl: 60_000 });
        await extra.taskStore.storeTaskResult(task.taskId, "completed", {
          content: [{ type: "text", text: "done" }],
        });
        return { task };
      },
      getTask: async (extra) => extra.taskStore.getTask(extra.taskId),
      getTaskResult: async (extra) => extra.taskStore.getTaskResult(extra.taskId),
    },
  );
  tasks.registerToolTask(
    "pending_job",
    { execution: { taskSupport: "required" } },
    {
      createTask: async (extra) => ({ task: await extra.taskStore.createTask({ ttl: 60_000 }) }),
      getTask: async (extra) => extra.taskStore.getTask(extra.taskId),
      getTaskResult: async (extra) => extra.taskStore.getTaskResult(extra.taskId),
    },
  );
  server.registerPrompt(
    "greet",
    {
      argsSchema: {
        name: completable(z.string(), (v) => ["ada", "alan"].filter((n) => n.startsWith(v))),
      },
    },
    ({ name }) => ({ messages: [{ role: "user", content: { type: "text", text: `hi ${name}` } }] }),
  );
  server.registerResource("doc", "test://doc", {}, async (uri) => ({
    contents: [{ uri: uri.href, text: "the doc" }],
  }));
  server.server.setRequestHandler(SubscribeRequestSchema, async () => ({}));
  server.server.setRequestHandler(UnsubscribeRequestSchema, async () => ({}));
  return server;
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch (e) {
        reject(e);
      }
    });
    req.on("error", reject);
  });
}

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(",") : v);

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const seen: Recorded[] = [];
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http: Server = createServer(async (req, res) => {
    try {
      const sid = one(req.headers["mcp-session-id"]);
      const t = sid === undefined ? undefined : sessions.get(sid);
      if (req.method !== "POST") {
        if (t === undefined) return void res.writeHead(404).end();
        return void (await t.handleRequest(req, res));
      }
      const body = await readJson(req);
      for (const m of Array.isArray(body) ? body : [body]) {
        const msg = m as {
          method?: string;
          params?: { name?: unknown; _meta?: Record<string, unknown> };
        };
        if (typeof msg.method === "string")
          seen.push({
            method: msg.method,
            name: msg.params?.name,
            traceparent: one(req.headers.traceparent),
            tracestate: one(req.headers.tracestate),
            meta: msg.params?._meta,
          });
      }
      if (t !== undefined) return void (await t.handleRequest(req, res, body));
      if (!isInitializeRequest(body)) return void res.writeHead(400).end();
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, transport),
      });
      await mcpServer().connect(transport);
      await transport.handleRequest(req, res, body);
    } catch (e) {
      if (!res.headersSent) res.writeHead(500).end(String(e));
    }
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    seen,
    close: async () => {
      for (const t of sessions.values()) await t.close().catch(() => {});
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
