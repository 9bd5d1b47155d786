/** Every example policy compiles and decides what its description promises. */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadPolicyFile } from "../../src/policy/index.js";

type A = Record<string, unknown>;
const CASES: Record<string, [A, boolean][]> = {
  "minimal.yaml": [
    [{ kind: "tool.call", name: "anything" }, false],
    [{ kind: "storage.read", uri: "/tmp/x" }, false],
    [{ kind: "network.connect", host: "localhost" }, false],
    [{ kind: "transport.connect", transport: "stdio" }, false],
  ],
  "development.yaml": [
    [{ kind: "tool.call", name: "anything" }, true],
    [{ kind: "storage.write", uri: "/home/dev/project/a.ts" }, true],
    [{ kind: "storage.read", uri: "/home/dev/.ssh/id_ed25519" }, false],
    [{ kind: "network.connect", host: "localhost", port: 3000 }, true],
    [{ kind: "network.connect", host: "db.test.local" }, true],
    [{ kind: "network.connect", host: "example.com" }, false],
    [{ kind: "env.read", key: "HOME" }, true],
    [{ kind: "env.read", key: "GITHUB_TOKEN" }, false],
    [{ kind: "transport.connect", transport: "websocket" }, true],
  ],
  "production.yaml": [
    [{ kind: "tool.call", name: "approved_tool_v1" }, true],
    [{ kind: "tool.call", name: "approved_tool_v2" }, false],
    [{ kind: "storage.write", uri: "/app/data/x" }, true],
    [{ kind: "storage.write", uri: "/app/config/x" }, false],
    [{ kind: "storage.read", uri: "/app/config/x" }, true],
    [{ kind: "http.request", url: "https://api.production.com/v1", method: "POST" }, true],
    [{ kind: "http.request", url: "http://api.production.com/v1", method: "POST" }, false],
    [{ kind: "network.connect", host: "database.internal", port: 5432 }, true],
    [{ kind: "env.read", key: "AWS_SECRET_ACCESS_KEY" }, false],
  ],
  "mcp-gateway.yaml": [
    [
      { kind: "tool.call", name: "calculator/add", arguments: { a: 1, b: 2 }, caller: "alice" },
      true,
    ],
    [{ kind: "tool.call", name: "file_reader", arguments: { path: "/data/report.csv" } }, true],
    [{ kind: "tool.call", name: "file_reader", arguments: { path: "/data/../etc/passwd" } }, false],
    [
      { kind: "tool.call", name: "file_reader", arguments: { path: "/data/a", encoding: "utf16" } },
      false,
    ],
    [{ kind: "tool.call", name: "search", arguments: { query: "warden", limit: 10 } }, true],
    [{ kind: "tool.call", name: "search", arguments: { query: "warden", limit: 100 } }, false],
    [{ kind: "tool.call", name: "git_status", arguments: { repo: "acme/app" } }, true],
    [{ kind: "tool.call", name: "git_push", arguments: { repo: "acme/app" } }, false],
    [{ kind: "tool.call", name: "system_exec" }, false],
    [{ kind: "tool.list", name: "file_reader" }, true],
    [{ kind: "prompt.get", name: "greeting", arguments: { name: "Ada" } }, true],
    [{ kind: "prompt.get", name: "debug_dump" }, false],
    [{ kind: "resource.read", uri: "file:///workspace/src/a.ts" }, true],
    [{ kind: "resource.read", uri: "file:///workspace/.env" }, false],
    [{ kind: "resource.read", uri: "sqlite://app.db" }, true],
    [{ kind: "resource.list", uri: "sqlite://app.db" }, false],
    [{ kind: "completion.complete", ref: { type: "ref/prompt", name: "greeting" } }, true],
    [{ kind: "transport.connect", transport: "stdio" }, true],
    [{ kind: "transport.connect", transport: "http", host: "api.anthropic.com" }, true],
    [{ kind: "transport.connect", transport: "websocket" }, false],
    [{ kind: "network.connect", host: "169.254.169.254", port: 80 }, false],
  ],
};

describe("examples/policies", () => {
  it("has a case list for every example file", () => {
    const files = readdirSync("examples/policies").filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(files.sort()).toEqual(Object.keys(CASES).sort());
  });

  describe.each(Object.entries(CASES))("%s", (file, cases) => {
    it.each(cases)("%j → allowed=%s", async (action, allowed) => {
      const r = await loadPolicyFile(`examples/policies/${file}`);
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
      const d = r.policy.check(action);
      expect(d.allowed, d.reason).toBe(allowed);
      expect(d.code).not.toBe("bad_action");
    });
  });
});
