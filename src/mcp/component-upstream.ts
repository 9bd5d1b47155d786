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
 */
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { serveOn } from "../hosted/mcp-server.js";
import { HostedServer, type ReloadOutcome } from "../hosted/server.js";
import type { ComponentUpstreamConfig } from "./config-types.js";
import type { UpstreamTransport } from "./upstream-transport.js";

const loaded = new Map<string, Promise<HostedServer>>();
const listeners = new Set<(cfg: ComponentUpstreamConfig, r: ReloadOutcome) => void>();

const keyOf = (cfg: ComponentUpstreamConfig) =>
  JSON.stringify([cfg.name, cfg.component, cfg.policies, cfg.instance]);

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

function serverFor(cfg: ComponentUpstreamConfig): Promise<HostedServer> {
  const key = keyOf(cfg);
  let p = loaded.get(key);
  if (p === undefined) {
    p = HostedServer.open({
      path: cfg.component,
      policies: cfg.policies,
      stateful: cfg.stateful,
      instance: cfg.instance,
      watch: true,
    });
    loaded.set(key, p);
    p.then(
      (h) =>
        h.onReload((r) => {
          for (const l of listeners) l(cfg, r);
        }),
      () => {
        if (loaded.get(key) === p) loaded.delete(key);
      },
    );
  }
  return p;
}

export async function componentTransport(cfg: ComponentUpstreamConfig): Promise<UpstreamTransport> {
  const hosted = await serverFor(cfg);
  const [client, server] = InMemoryTransport.createLinkedPair();
  await serveOn(hosted, server, { hostCallsInMeta: true });
  return { transport: client, setProtocolVersion: () => {}, pid: () => null };
}
