/**
 * The gateway part of `warden demo`: start the gateway (HTTP, on a free loopback port) in front
 * of the example notes server with the example policy, drive it with a real MCP SDK client,
 * and report what was allowed or denied and why (the rule, from the audit log).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { parseConfig } from "../../mcp/config.js";
import { Gateway } from "../../mcp/gateway.js";

const EXAMPLES = fileURLToPath(new URL("../../../examples/demo/", import.meta.url));

export interface GatewayDemoStep {
  what: string;
  decision: "allow" | "deny" | "error";
  /** The rule (file:line) or the denial message. */
  why: string;
  result?: string;
}

type Step = [string, (c: Client) => Promise<unknown>];

const STEPS: Step[] = [
  ["tools/list", async (c) => (await c.listTools()).tools.map((t) => t.name).join(", ")],
  [
    "tools/call read_note public/welcome",
    (c) => c.callTool({ name: "read_note", arguments: { name: "public/welcome" } }),
  ],
  [
    "tools/call read_note private/diary",
    (c) => c.callTool({ name: "read_note", arguments: { name: "private/diary" } }),
  ],
  [
    "tools/call write_note drafts/idea",
    (c) => c.callTool({ name: "write_note", arguments: { name: "drafts/idea", text: "gateways" } }),
  ],
  [
    "tools/call delete_note public/todo",
    (c) => c.callTool({ name: "delete_note", arguments: { name: "public/todo" } }),
  ],
  [
    "tools/call search_notes #1",
    (c) => c.callTool({ name: "search_notes", arguments: { query: "milk" } }),
  ],
  [
    "tools/call search_notes #2",
    (c) => c.callTool({ name: "search_notes", arguments: { query: "agent" } }),
  ],
  [
    "tools/call search_notes #3",
    (c) => c.callTool({ name: "search_notes", arguments: { query: "x" } }),
  ],
  ["resources/list", async (c) => (await c.listResources()).resources.map((r) => r.uri).join(", ")],
  ["resources/read notes://public/todo", (c) => c.readResource({ uri: "notes://public/todo" })],
  ["resources/read notes://private/diary", (c) => c.readResource({ uri: "notes://private/diary" })],
];

function short(v: unknown): string {
  if (typeof v === "string") return v;
  const o = v as { content?: { text?: string }[]; contents?: { text?: string }[] };
  const t = o?.content?.[0]?.text ?? o?.contents?.[0]?.text ?? JSON.stringify(v);
  return t.length > 70 ? `${t.slice(0, 67)}...` : t;
}

export async function runGatewayDemo(): Promise<GatewayDemoStep[]> {
  const dir = mkdtempSync(join(tmpdir(), "warden-demo-"));
  const audit = join(dir, "audit.jsonl");
  const yaml = [
    "listen: { http: { host: 127.0.0.1, port: 0 } }",
    `policy: ${JSON.stringify(join(EXAMPLES, "policy.yaml"))}`,
    `audit: { file: ${JSON.stringify(audit)} }`,
    "upstreams:",
    "  - name: notes",
    `    command: ${JSON.stringify(process.execPath)}`,
    `    args: [${JSON.stringify(join(EXAMPLES, "notes-server.mjs"))}]`,
  ].join("\n");
  const cfg = parseConfig(yaml, join(dir, "warden.yaml"));
  if (!cfg.ok) throw new Error(cfg.errors.map((e) => e.message).join("; "));
  const gw = await Gateway.start({ config: cfg.config, watch: false, log: () => {} });
  const steps: GatewayDemoStep[] = [];
  const client = new Client({ name: "warden-demo", version: "1.0.0" });
  try {
    const url = `http://127.0.0.1:${gw.address!.port}/mcp`;
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    for (const [what, run] of STEPS) {
      try {
        const r = await run(client);
        const isError = (r as { isError?: boolean })?.isError === true;
        steps.push({ what, decision: isError ? "error" : "allow", why: "", result: short(r) });
      } catch (e) {
        steps.push({
          what,
          decision: "deny",
          why: (e as Error).message.replace(/^MCP error -?\d+: /, ""),
        });
      }
    }
  } finally {
    await client.close().catch(() => {});
    await gw.stop();
  }
  // The audit log says which rule allowed each call (its decision lines, in order).
  const lines = readFileSync(audit, "utf8")
    .split("\n")
    .filter(Boolean)
    .map(
      (l) =>
        JSON.parse(l) as {
          phase: string;
          method: string;
          decision: string;
          rule?: string;
          hidden?: string[];
        },
    );
  const judged = lines.filter((l) => l.phase === "decision" && l.method !== "initialize");
  for (const [i, s] of steps.entries()) {
    const l = judged[i];
    if (s.decision !== "deny" && l)
      s.why = l.hidden?.length
        ? `hidden by the policy: ${l.hidden.join(", ")}`
        : l.rule
          ? `allowed by the rule at ${l.rule}`
          : "";
  }
  rmSync(dir, { recursive: true, force: true });
  return steps;
}

export function printGatewayDemo(
  steps: readonly GatewayDemoStep[],
  write: (s: string) => void,
): void {
  write(
    "Warden MCP gateway demo: the example notes server behind the gateway, with examples/demo/policy.yaml\n\n",
  );
  for (const s of steps) {
    write(`${s.decision.padEnd(5)}  ${s.what}\n`);
    if (s.result !== undefined) write(`       → ${s.result}\n`);
    if (s.why) write(`       ${s.decision === "deny" ? "✗" : "✓"} ${s.why}\n`);
  }
  write("\n");
}
