/**
 * Client transports to upstream MCP servers, from the SDK: stdio (a child process) and
 * Streamable HTTP (with a fetch that does not pile abort listeners on one shared signal).
 */
import type { FetchLike, Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { WardenError } from "../core/errors.js";
import type { UpstreamConfig } from "./config-types.js";

/** Every child process the gateway started and has not seen exit; killed on process exit. */
export const liveChildren = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of liveChildren) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {}
    }
  });
}

/**
 * The SDK's HTTP client passes one long-lived AbortSignal to every fetch; undici on Node 20
 * adds a listener to it per request and never removes it. Give each request its own signal,
 * linked to the shared one only while the request (or its SSE body) is alive.
 */
export function perRequestSignalFetch(base: FetchLike = fetch): FetchLike {
  return async (url, init) => {
    const shared = init?.signal;
    if (!shared) return base(url, init);
    if (shared.aborted) throw shared.reason;
    const ac = new AbortController();
    const onAbort = () => ac.abort(shared.reason);
    shared.addEventListener("abort", onAbort, { once: true });
    const unlink = () => shared.removeEventListener("abort", onAbort);
    let res: Response;
    try {
      res = await base(url, { ...init, signal: ac.signal });
    } catch (e) {
      unlink();
      throw e;
    }
    const ct = res.headers.get("content-type") ?? "";
    if (!ct.includes("text/event-stream") || res.body === null) {
      unlink();
      return res;
    }
    const body = res.body.pipeThrough(
      new TransformStream({
        flush: unlink,
      }),
    );
    return new Response(body, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  };
}

export interface UpstreamTransport {
  transport: Transport;
  /** Set the negotiated protocol version (HTTP sends it as a header). */
  setProtocolVersion(v: string): void;
  pid(): number | null;
}

/** Make the transport; the SDK module of each kind is loaded only when a config uses it. */
export async function createUpstreamTransport(cfg: UpstreamConfig): Promise<UpstreamTransport> {
  if (cfg.kind === "stdio") {
    const { StdioClientTransport } = await import("@modelcontextprotocol/sdk/client/stdio.js");
    installExitHook();
    const params: ConstructorParameters<typeof StdioClientTransport>[0] = {
      command: cfg.command,
      args: [...cfg.args],
      env: { ...cfg.env },
      stderr: "inherit",
    };
    if (cfg.cwd !== undefined) params.cwd = cfg.cwd;
    const t = new StdioClientTransport(params);
    const start = t.start.bind(t);
    let pid: number | null = null;
    t.start = async () => {
      await start();
      pid = t.pid;
      if (pid !== null) liveChildren.add(pid);
    };
    const close = t.close.bind(t);
    t.close = async () => {
      await close();
      if (pid !== null) liveChildren.delete(pid);
    };
    return { transport: t, setProtocolVersion: () => {}, pid: () => t.pid };
  }
  const headers: Record<string, string> = { ...cfg.headers };
  if (cfg.bearerEnv !== undefined) {
    const token = process.env[cfg.bearerEnv];
    if (token === undefined || token === "")
      throw new WardenError(
        "upstream_failed",
        `Upstream "${cfg.name}" wants a bearer token from $${cfg.bearerEnv}, which is not set. Export it before starting the gateway.`,
        { category: "config", details: { upstream: cfg.name, env: cfg.bearerEnv } },
      );
    headers.authorization = `Bearer ${token}`;
  }
  const { StreamableHTTPClientTransport } = await import(
    "@modelcontextprotocol/sdk/client/streamableHttp.js"
  );
  const t = new StreamableHTTPClientTransport(new URL(cfg.url), {
    requestInit: { headers },
    fetch: perRequestSignalFetch(),
    reconnectionOptions: {
      initialReconnectionDelay: 500,
      maxReconnectionDelay: 10_000,
      reconnectionDelayGrowFactor: 2,
      maxRetries: 3,
    },
  });
  return { transport: t, setProtocolVersion: (v) => t.setProtocolVersion(v), pid: () => null };
}
