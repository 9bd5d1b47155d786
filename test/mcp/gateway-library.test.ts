// A library user who starts a gateway from a config with security_guards gets the guards
// (issue 18, 3): Gateway.start loads them, as the CLI does; a guard that cannot load fails the
// start. Through the public API (src/index.ts), real upstream processes, a real SDK client.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import {
  FirewallBuilder,
  Gateway,
  loadGatewayConfig,
  StatisticsStrategy,
} from "../../src/index.js";
import { upstream } from "../guards/gateway-helpers.js";
import { auditLines } from "./audit-schema.js";
import { tempDir } from "./helpers.js";

const POLICY = `version: "1.0"
mcp:
  transport: { http: true, stdio: true }
  tools:
    allow: ["*"]
`;

function configWith(guards: string): { file: string; dir: string } {
  const dir = tempDir();
  writeFileSync(join(dir, "policy.yaml"), POLICY);
  const file = join(dir, "warden.yaml");
  writeFileSync(
    file,
    `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\naudit: { file: ./audit.jsonl }\nupstreams:\n${upstream("evil", "malicious")}security_guards:\n${guards}`,
  );
  return { file, dir };
}

let gw: Gateway | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close().catch(() => {});
  await gw?.stop();
  gw = client = undefined;
});

describe("Gateway.start with security_guards in the config", () => {
  it("runs the config's guards: a poisoned tool is hidden, PII in arguments is refused", async () => {
    const { file, dir } = configWith(
      "  - id: poisoning\n    type: tool_poisoning\n  - id: pii-in\n    type: pii\n    runs_on: [tool_invoke]\n",
    );
    gw = await Gateway.start({ config: loadGatewayConfig(file), watch: false, log: () => {} });
    client = new Client({ name: "library-user", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gw.address!.port}/mcp`)),
    );
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain("echo");
    expect(names).not.toContain("weather");
    await expect(
      client.callTool({ name: "echo", arguments: { text: "card 4111 1111 1111 1111" } }),
    ).rejects.toThrow(/Personal or secret data found in the arguments/);
    gw.audit?.flush();
    expect(auditLines(join(dir, "audit.jsonl"))).toContainEqual(
      expect.objectContaining({
        phase: "decision",
        name: "echo",
        decision: "deny",
        rule: "security_guards.pii-in",
      }),
    );
  }, 30_000);

  it("fails the start when a guard cannot be loaded, naming its module", async () => {
    const missing = join(tempDir(), "nope.wasm");
    const { file } = configWith(
      `  - id: gone\n    type: wasm\n    module_path: ${JSON.stringify(missing)}\n    runs_on: [tool_invoke]\n`,
    );
    await expect(
      Gateway.start({ config: loadGatewayConfig(file), watch: false, log: () => {} }),
    ).rejects.toThrow(/nope\.wasm/);
  });
});

describe("Gateway.start: the user's judges run after the config's guards", () => {
  it("keeps both: a guard denial and a strategy the library user added", async () => {
    const { file } = configWith("  - id: pii-in\n    type: pii\n    runs_on: [tool_invoke]\n");
    gw = await Gateway.start({
      config: loadGatewayConfig(file),
      watch: false,
      log: () => {},
      judges: {
        tool_invoke: [
          {
            name: "no-bananas",
            beforeCall: (c) =>
              JSON.stringify(c.args).includes("banana")
                ? { verdict: "block", reason: "no bananas", by: "no-bananas" }
                : undefined,
          },
        ],
      },
    });
    client = new Client({ name: "library-user", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gw.address!.port}/mcp`)),
    );
    await expect(
      client.callTool({ name: "echo", arguments: { text: "card 4111 1111 1111 1111" } }),
    ).rejects.toThrow(/Personal or secret data found in the arguments/);
    await expect(client.callTool({ name: "echo", arguments: { text: "banana" } })).rejects.toThrow(
      /no bananas/,
    );
  }, 30_000);
});

describe("Gateway.start({ strategies }): core strategies in the gateway's chains", () => {
  it("a list goes into every phase's chain: the core firewall and statistics do their work on real traffic", async () => {
    const { file } = configWith("  - id: pii-in\n    type: pii\n    runs_on: [tool_invoke]\n");
    const stats = new StatisticsStrategy();
    // The firewall judges (source = the client's name@version, target = upstream, function =
    // tool or method) in the policy's glob dialect.
    const firewall = new FirewallBuilder(true).denyFunction("library-user@*", "*", "add").build();
    gw = await Gateway.start({
      config: loadGatewayConfig(file),
      watch: false,
      log: () => {},
      strategies: [firewall, stats],
    });
    client = new Client({ name: "library-user", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gw.address!.port}/mcp`)),
    );
    const r = await client.callTool({ name: "echo", arguments: { text: "hi" } });
    expect((r.content as { text: string }[])[0]!.text).toBe("hi");
    await expect(client.callTool({ name: "add", arguments: { a: 1, b: 2 } })).rejects.toThrow(
      /firewall "firewall" rule deny#1 denies/,
    );
    // The guards still run before the user's strategies.
    await expect(
      client.callTool({ name: "echo", arguments: { text: "card 4111 1111 1111 1111" } }),
    ).rejects.toThrow(/Personal or secret data/);
    const echo = stats.snapshot().functions.find((f) => f.function === "echo");
    expect(echo).toMatchObject({ target: "evil", calls: 1, errors: 0 });
    expect(echo?.timing?.timed).toBe(1);
  }, 30_000);
});
