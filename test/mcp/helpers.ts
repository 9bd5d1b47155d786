/** Shared helpers of the gateway tests: temp dirs, configs, gateways and real SDK clients. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { FIXTURE_SERVER } from "../../scripts/conformance/run.mjs";
import { loadConfig } from "../../src/mcp/config.js";
import { Gateway } from "../../src/mcp/gateway.js";

export const ROOT = resolve(import.meta.dirname, "../..");
export const CLI = join(ROOT, "dist/cli/main.js");
export { FIXTURE_SERVER };

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "warden-mcp-"));
}

/** A policy for the fixture server: most things allowed, a few precise denials and limits. */
export const FIXTURE_POLICY = `version: "1.0"
storage:
  allow:
    - uri: "file:///workspace/**"
      access: [read]
mcp:
  transport: { stdio: true, http: true }
  tools:
    allow:
      - name: "add"
        max_calls_per_minute: 3
      - name: "echo"
        parameters:
          text: { max_length: 10 }
      - "test_*"
      - "slow"
      - "log"
      - "list_roots"
      - "sample"
      - "elicit"
      - "update_resource"
      - "a__*"
      - "b__*"
    deny:
      - "stats"
      - "*__stats"
      - "toggle_dynamic"
  prompts:
    allow:
      - name: "test_simple_prompt"
      - name: "*__test_simple_prompt"
      - name: "test_prompt_with_arguments"
  resources:
    allow:
      - uri: "test://static-text"
      - uri: "test://watched-resource"
      - uri: "test://template/**"
      - uri: "a+test://**"
      - uri: "b+test://**"
`;

/** Write warden.yaml and policy.yaml into `dir`; returns the config path. */
export function writeGatewayFiles(dir: string, config: string, policy = FIXTURE_POLICY): string {
  writeFileSync(join(dir, "policy.yaml"), policy);
  const file = join(dir, "warden.yaml");
  writeFileSync(file, config);
  return file;
}

export function stdioUpstream(name: string, extra: string[] = [], prefix?: boolean): string {
  const args = [FIXTURE_SERVER, "--name", name, ...extra].map((a) => JSON.stringify(a)).join(", ");
  return `  - name: ${name}\n    command: ${JSON.stringify(process.execPath)}\n    args: [${args}]\n${prefix === undefined ? "" : `    prefix: ${prefix}\n`}`;
}

export function httpUpstream(name: string, url: string): string {
  return `  - name: ${name}\n    url: ${url}\n`;
}

/** Start an in-process gateway from a config file (HTTP listen on a free port). */
export async function startGateway(
  configFile: string,
  watch = false,
): Promise<{ gw: Gateway; url: string }> {
  const gw = await Gateway.start({ config: loadConfig(configFile), watch, log: () => {} });
  const path = gw.config.listen.kind === "http" ? gw.config.listen.path : "/mcp";
  return { gw, url: `http://127.0.0.1:${gw.address!.port}${path}` };
}

export interface ClientLog {
  roots: { uri: string; name?: string }[];
  notifications: { method: string; params?: unknown }[];
}

/** A real SDK client that answers sampling, elicitation and roots/list. */
export function makeClient(log: ClientLog = { roots: [], notifications: [] }): Client {
  const client = new Client(
    { name: "gateway-test", version: "1.0.0" },
    { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } },
  );
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
    model: "test-model",
    role: "assistant",
    content: { type: "text", text: `sampled: ${JSON.stringify(req.params.messages[0]?.content)}` },
  }));
  client.setRequestHandler(ElicitRequestSchema, async () => ({
    action: "accept",
    content: { name: "Ada" },
  }));
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: log.roots }));
  client.fallbackNotificationHandler = async (n) => {
    log.notifications.push(n);
  };
  return client;
}

export async function httpClient(
  url: string,
  log?: ClientLog,
  headers?: Record<string, string>,
): Promise<Client> {
  const c = makeClient(log);
  await c.connect(
    new StreamableHTTPClientTransport(
      new URL(url),
      headers ? { requestInit: { headers } } : undefined,
    ),
  );
  return c;
}

/** `warden gateway --config <file>` as a stdio MCP server, driven by a real SDK client. */
export async function stdioGatewayClient(
  configFile: string,
  log?: ClientLog,
): Promise<{ client: Client; transport: StdioClientTransport }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, "gateway", "--config", configFile],
    stderr: "pipe",
  });
  const client = makeClient(log);
  await client.connect(transport);
  return { client, transport };
}

/** Wait until `cond()` holds (polling), or fail after `ms`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  ms = 10_000,
  what = "condition",
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
