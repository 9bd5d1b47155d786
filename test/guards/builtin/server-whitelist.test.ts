import { describe, expect, it } from "vitest";
import { createServerWhitelist } from "../../../src/guards/builtin/server-whitelist.js";
import { parseGuardsConfig } from "../../../src/guards/config.js";
import { specOf } from "../helpers.js";

const spec = specOf({
  id: "wl",
  type: "server_whitelist",
  runs_on: ["connection", "tool_invoke"],
  config: {
    servers: [
      "files",
      { name: "search", url: "http://127.0.0.1:9000/mcp" },
      { name: "docs", url: "https://docs.example.com/*" },
      { name: "git", command: "mcp-git" },
    ],
  },
});
const g = createServerWhitelist(spec);
const conn = (name: string, extra: Record<string, unknown> = {}) =>
  g.evaluate("connection", { name, transport: "stdio", ...extra } as never, { serverName: name });

describe("server_whitelist", () => {
  it("allows listed servers by name", () => {
    expect(conn("files").kind).toBe("allow");
  });
  it("refuses an unlisted server, naming it and the allowed ones", () => {
    const d = conn("evil");
    expect(d).toMatchObject({ kind: "deny", code: "server_not_allowed" });
    if (d.kind === "deny") expect(d.message).toContain("files, search, docs, git");
  });
  it("checks HTTP URLs exactly (after normalisation) or by prefix*", () => {
    expect(conn("search", { transport: "http", url: "http://127.0.0.1:9000/mcp" }).kind).toBe(
      "allow",
    );
    expect(conn("search", { transport: "http", url: "HTTP://127.0.0.1:9000/mcp" }).kind).toBe(
      "allow",
    );
    expect(conn("search", { transport: "http", url: "http://127.0.0.1:9001/mcp" })).toMatchObject({
      code: "server_url_not_allowed",
    });
    expect(
      conn("search", { transport: "http", url: "http://127.0.0.1:9000/mcp/../x" }),
    ).toMatchObject({ kind: "deny" });
    expect(conn("docs", { transport: "http", url: "https://docs.example.com/v2/mcp" }).kind).toBe(
      "allow",
    );
    expect(
      conn("docs", { transport: "http", url: "https://docs.example.com.evil.io/mcp" }).kind,
    ).toBe("deny");
  });
  it("checks stdio commands when listed", () => {
    expect(conn("git", { command: "mcp-git" }).kind).toBe("allow");
    expect(conn("git", { command: "sh" })).toMatchObject({ code: "server_command_not_allowed" });
  });
  it("on other phases refuses traffic from unlisted servers", () => {
    expect(
      g.evaluate(
        "tool_invoke",
        { method: "tools/call", name: "x", arguments: {} },
        { serverName: "evil" },
      ).kind,
    ).toBe("deny");
    expect(
      g.evaluate(
        "tool_invoke",
        { method: "tools/call", name: "x", arguments: {} },
        { serverName: "files" },
      ).kind,
    ).toBe("allow");
  });
  it("needs a servers list, and checks its entries at load", () => {
    const r = parseGuardsConfig(
      [
        { id: "wl", type: "server_whitelist" },
        {
          id: "w2",
          type: "server_whitelist",
          config: { servers: [{ name: "a", url: "not a url", colour: 1 }] },
        },
      ],
      "/x/warden.yaml",
    );
    expect(r.issues.map((i) => i.key)).toEqual([
      "security_guards[0].config.servers",
      "security_guards[1].config.servers[0].colour",
      "security_guards[1].config.servers[0].url",
    ]);
  });
});
