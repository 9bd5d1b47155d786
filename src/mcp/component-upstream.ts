/**
 * A component upstream (`upstreams: [{ name, component, policy?, stateful? }]`): WebAssembly
 * components served as MCP tools (src/hosted) inside the gateway, reached through the SDK's
 * in-memory transport pair, so the gateway judges them with the same policy, guards and audit
 * as any upstream. The components and their worker pool are loaded once per upstream entry and
 * shared by every session; each session gets its own MCP server over them.
 *
 * A file change (a component, its WIT) is seen when a session connects: the components are
 * loaded again; when the new ones cannot be loaded, the old ones keep serving and a warning
 * says why.
 */
import { readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { serveOn } from "../hosted/mcp-server.js";
import { HostedServer } from "../hosted/server.js";
import type { ComponentUpstreamConfig } from "./config-types.js";
import type { UpstreamTransport } from "./upstream-transport.js";

interface Loaded {
  stamp: string;
  server: Promise<HostedServer>;
}

const loaded = new Map<string, Loaded>();

/** Sizes and mtimes of the component files and their WIT sources: what a reload follows. */
function stampOf(path: string): string {
  const parts: string[] = [];
  const add = (p: string) => {
    try {
      const st = statSync(p);
      parts.push(`${p}:${st.size}:${st.mtimeMs}`);
      if (st.isDirectory()) {
        for (const f of readdirSync(p).sort())
          if (f.endsWith(".wasm") || f.endsWith(".wit")) add(join(p, f));
      }
    } catch {
      parts.push(`${p}:missing`);
    }
  };
  add(path);
  if (path.endsWith(".wasm")) add(`${path.slice(0, -5)}.wit`);
  add(join(dirname(path), "wit"));
  return parts.join("|");
}

function open(cfg: ComponentUpstreamConfig): Promise<HostedServer> {
  return HostedServer.open({
    path: cfg.component,
    policies: cfg.policies,
    stateful: cfg.stateful,
  });
}

async function serverFor(cfg: ComponentUpstreamConfig): Promise<HostedServer> {
  const key = JSON.stringify([cfg.name, cfg.component, cfg.policies, cfg.stateful]);
  const stamp = stampOf(cfg.component);
  const prev = loaded.get(key);
  if (prev === undefined) {
    const entry: Loaded = { stamp, server: open(cfg) };
    loaded.set(key, entry);
    entry.server.catch(() => {
      if (loaded.get(key) === entry) loaded.delete(key);
    });
    return entry.server;
  }
  if (prev.stamp === stamp) return prev.server;
  try {
    const next = await open(cfg);
    loaded.set(key, { stamp, server: Promise.resolve(next) });
    return next;
  } catch (error) {
    prev.stamp = stamp; // say it once per change
    process.emitWarning(
      `upstream "${cfg.name}": the changed component could not be loaded (${(error as Error).message}); the previous one keeps serving`,
      "WardenComponentWarning",
    );
    return prev.server;
  }
}

export async function componentTransport(cfg: ComponentUpstreamConfig): Promise<UpstreamTransport> {
  const hosted = await serverFor(cfg);
  const [client, server] = InMemoryTransport.createLinkedPair();
  await serveOn(hosted, server, { hostCallsInMeta: true });
  return { transport: client, setProtocolVersion: () => {}, pid: () => null };
}
