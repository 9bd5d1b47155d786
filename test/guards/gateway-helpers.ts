/** Helpers of the guards' gateway tests: a real gateway, real upstream servers, real clients. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { loadConfig } from "../../src/mcp/config.js";
import { Gateway } from "../../src/mcp/gateway.js";
import { auditNotes, type GatewayGuards, loadGatewayGuards } from "../../src/mcp/guards-hook.js";
import { auditLines } from "../mcp/audit-schema.js";
import { ROOT } from "./build.js";

export const SERVERS = join(ROOT, "test", "guards", "fixtures", "mcp-servers.mjs");

export const ALLOW_ALL = `version: "1.0"
mcp:
  transport: { stdio: true, http: true }
  tools:
    allow: ["*"]
`;

export function upstream(name: string, kind: "clean" | "malicious"): string {
  return `  - name: ${name}\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(SERVERS)}, ${kind}]\n`;
}

export interface Running {
  gw: Gateway;
  guards: GatewayGuards | undefined;
  /** Replace the security_guards section of warden.yaml (then call gw.reload()). */
  rewriteGuards(guards: string): void;
  url: string;
  dir: string;
  client(): Promise<Client>;
  audit(): Record<string, unknown>[];
  stop(): Promise<void>;
}

/** Write warden.yaml (+ an allow-all policy), load its guards, start the gateway over HTTP. */
export async function gatewayWith(upstreams: string, guards: string): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), "warden-guards-gw-"));
  writeFileSync(join(dir, "policy.yaml"), ALLOW_ALL);
  const file = join(dir, "warden.yaml");
  writeFileSync(
    file,
    `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n${upstreams}security_guards:\n${guards}`,
  );
  const config = loadConfig(file);
  let ref: Gateway | undefined;
  const loaded = await loadGatewayGuards(config, { note: auditNotes(() => ref) });
  const gw = await Gateway.start({
    config,
    // This helper loads the guards itself (the tests follow reloads by hand).
    configGuards: false,
    watch: false,
    log: () => {},
    ...(loaded ? { judges: loaded.judges } : {}),
  });
  ref = gw;
  const url = `http://127.0.0.1:${gw.address!.port}/mcp`;
  const clients: Client[] = [];
  return {
    gw,
    guards: loaded,
    rewriteGuards(next: string) {
      const text = readFileSync(file, "utf8");
      writeFileSync(
        file,
        `${text.slice(0, text.indexOf("security_guards:\n"))}security_guards:\n${next}`,
      );
    },
    url,
    dir,
    async client() {
      const c = new Client({ name: "guards-test", version: "1.0.0" });
      await c.connect(new StreamableHTTPClientTransport(new URL(url)));
      clients.push(c);
      return c;
    },
    audit() {
      const f = join(dir, "audit.jsonl");
      gw.audit?.flush();
      // Every line is checked against docs/audit.schema.json.
      return auditLines(f);
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
      await gw.stop();
      loaded?.set.close();
    },
  };
}

/** The text of a tools/call result. */
export function textOf(r: unknown): string {
  const c = (r as { content?: { type: string; text?: string }[] }).content ?? [];
  return c.map((x) => x.text ?? "").join("");
}
