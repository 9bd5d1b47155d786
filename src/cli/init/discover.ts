/**
 * Start one upstream with the official MCP SDK client (stdio or Streamable HTTP), list its
 * tools, prompts and resources (every page, bounded), and stop it. Every failure names the
 * upstream and what it was running, with the end of its stderr, and is a `WardenError`.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { Prompt, Resource, Tool } from "@modelcontextprotocol/sdk/types.js";
import { WardenError } from "../../core/errors.js";
import { commandProblem } from "../../mcp/upstream-check.js";
import type { UpstreamSpec } from "./spec.js";

export interface Discovered {
  readonly spec: UpstreamSpec;
  readonly server: { name: string; version: string } | undefined;
  readonly tools: readonly Tool[];
  readonly prompts: readonly Prompt[];
  readonly resources: readonly Resource[];
  /** Items past MAX_ITEMS (or pages past MAX_PAGES) that were not read. */
  readonly truncated: boolean;
}

/** Bounds of one list: a server that pages forever or lists millions is cut here. */
export const MAX_PAGES = 100;
export const MAX_ITEMS = 5000;
/** The end of an upstream's stderr kept for an error message. */
const STDERR_TAIL = 2000;

/** How the upstream is started or reached, for messages: `node x.js /data` or the URL. */
export function describeSpec(s: UpstreamSpec): string {
  return s.kind === "http" ? s.url : [s.command, ...s.args].join(" ");
}

function failed(s: UpstreamSpec, what: string, stderr: string, cause?: unknown): WardenError {
  const tail = stderr.trim();
  return new WardenError(
    "init_upstream_failed",
    `upstream "${s.name}" (${describeSpec(s)}) ${what}${tail === "" ? "" : `; its stderr ended with: ${tail.replace(/\s*\n\s*/g, " | ")}`}. Run it by hand to see why, or fix the command.`,
    { category: "internal", cause, details: { upstream: s.name } },
  );
}

async function listAll<T>(
  page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string | undefined }>,
): Promise<{ items: T[]; truncated: boolean }> {
  const items: T[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let n = 0; n < MAX_PAGES; n++) {
    const r = await page(cursor);
    items.push(...r.items);
    if (items.length >= MAX_ITEMS) return { items: items.slice(0, MAX_ITEMS), truncated: true };
    cursor = r.nextCursor;
    if (cursor === undefined) return { items, truncated: false };
    if (seen.has(cursor)) return { items, truncated: true };
    seen.add(cursor);
  }
  return { items, truncated: true };
}

/**
 * Start `spec`, list what it offers, stop it. Within `timeoutMs` as a whole; a command that
 * does not exist is refused before anything is started (exit 2, `init_upstream_not_found`).
 */
export async function discover(spec: UpstreamSpec, timeoutMs: number): Promise<Discovered> {
  let stderr = "";
  let transport: Transport;
  if (spec.kind === "stdio") {
    const problem = commandProblem({ ...spec, prefix: false, paths: "local" });
    if (problem !== undefined)
      throw new WardenError(
        "init_upstream_not_found",
        `upstream "${spec.name}" (${describeSpec(spec)}): ${problem}. Fix the command (install the server, or give its full path).`,
        { category: "usage", details: { upstream: spec.name } },
      );
    const t = new StdioClientTransport({
      command: spec.command,
      args: [...spec.args],
      env: { ...spec.env },
      cwd: spec.cwd,
      stderr: "pipe",
    });
    t.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_TAIL);
    });
    transport = t;
  } else {
    transport = new StreamableHTTPClientTransport(new URL(spec.url), {
      requestInit: { headers: { ...spec.headers } },
    });
  }
  const client = new Client({ name: "warden-init", version: "1.0.0" }, { capabilities: {} });
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(failed(spec, `did not answer within ${timeoutMs / 1000} s (--timeout)`, stderr)),
      timeoutMs,
    );
  });
  let step = "did not start";
  const work = (async (): Promise<Discovered> => {
    await client.connect(transport, { timeout: left() });
    const caps = client.getServerCapabilities() ?? {};
    const info = client.getServerVersion();
    step = "failed to list its tools";
    const tools = caps.tools
      ? await listAll(async (cursor) => {
          const r = await client.listTools(cursor ? { cursor } : {}, { timeout: left() });
          return { items: r.tools, nextCursor: r.nextCursor };
        })
      : { items: [], truncated: false };
    step = "failed to list its prompts";
    const prompts = caps.prompts
      ? await listAll(async (cursor) => {
          const r = await client.listPrompts(cursor ? { cursor } : {}, { timeout: left() });
          return { items: r.prompts, nextCursor: r.nextCursor };
        })
      : { items: [], truncated: false };
    step = "failed to list its resources";
    const resources = caps.resources
      ? await listAll(async (cursor) => {
          const r = await client.listResources(cursor ? { cursor } : {}, { timeout: left() });
          return { items: r.resources, nextCursor: r.nextCursor };
        })
      : { items: [], truncated: false };
    return {
      spec,
      server: info ? { name: info.name, version: info.version } : undefined,
      tools: tools.items,
      prompts: prompts.items,
      resources: resources.items,
      truncated: tools.truncated || prompts.truncated || resources.truncated,
    };
  })();
  try {
    return await Promise.race([work, timeout]);
  } catch (e) {
    if (e instanceof WardenError) throw e;
    // the child's last words may still be in the pipe when its exit is noticed
    await new Promise((r) => setImmediate(r));
    throw failed(spec, `${step} (${(e as Error).message})`, stderr, e);
  } finally {
    clearTimeout(timer);
    work.catch(() => {});
    if (transport instanceof StreamableHTTPClientTransport)
      await transport.terminateSession().catch(() => {});
    await client.close().catch(() => {});
  }
}
