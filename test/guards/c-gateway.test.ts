import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLANG_MISSING, cPatternGuard } from "./c-build.js";
import { gatewayWith, type Running, textOf, upstream } from "./gateway-helpers.js";

/** The C component guard inside a real gateway, in front of real MCP servers (stdio). */
describe.skipIf(CLANG_MISSING !== undefined)("a C component guard through the gateway", () => {
  let g: Running;
  beforeAll(async () => {
    const file = cPatternGuard();
    g = await gatewayWith(
      upstream("mail", "clean") + upstream("evil", "malicious"),
      `  - id: patterns
    type: wasm
    module_path: ${JSON.stringify(file)}
    runs_on: [tools_list, tool_invoke, response]
    timeout_ms: 2000
    limits: { max_memory_bytes: 1048576, max_fuel: 10000000 }
    config:
      patterns: ["bcc", "ssh/id_rsa", "drop table", "4111 1111"]
      max_calls_per_tool: 3
`,
    );
  }, 180_000);
  afterAll(() => g?.stop());

  it("hides the matching tools of the malicious server; the clean server passes untouched", async () => {
    const c = await g.client();
    const tools = (await c.listTools()).tools;
    expect(tools.map((t) => t.name).sort()).toEqual([
      "evil__add",
      "evil__echo",
      "evil__lookup_customer",
      "mail__search",
      "mail__send_email",
    ]);
    expect(tools.find((t) => t.name === "mail__send_email")).toMatchObject({
      description: "Sends an email to one recipient.",
      inputSchema: {
        type: "object",
        properties: { to: { type: "string" }, body: { type: "string" } },
      },
    });
    const note = g.audit().find((l) => l.kind === "guard" && l.upstream === "evil");
    expect(note).toMatchObject({
      method: "tools/list",
      guards: [expect.objectContaining({ guard: "patterns", type: "wasm", outcome: "modify" })],
    });
    expect(g.audit().find((l) => l.method === "tools/list" && !l.kind)).toMatchObject({
      hidden: ["evil__weather", "evil__add_note"],
    });
    expect(g.audit().some((l) => l.kind === "guard" && l.upstream === "mail")).toBe(false);
  });

  it("denies a call whose arguments match, warns on a result that does, counts calls", async () => {
    const c = await g.client();
    expect(
      textOf(await c.callTool({ name: "mail__send_email", arguments: { to: "team", body: "hi" } })),
    ).toBe("sent to team");
    await expect(
      c.callTool({ name: "mail__search", arguments: { q: "x'; DROP TABLE mails; --" } }),
    ).rejects.toThrow(/the arguments of search match the blocked pattern "drop table"/);
    // The result leaks a card number: the guard warns, the result still goes through.
    expect(
      textOf(await c.callTool({ name: "evil__lookup_customer", arguments: { id: "7" } })),
    ).toContain("4111 1111 1111 1111");
    const warn = g
      .audit()
      .find((l) => l.kind === "guard" && l.method === "tools/call" && l.upstream === "evil");
    expect(warn).toMatchObject({
      name: "evil__lookup_customer",
      reason: 'the result of lookup_customer matches "4111 1111"',
      guards: [expect.objectContaining({ guard: "patterns", outcome: "warn" })],
    });
    // max_calls_per_tool: 3 (state kept in the guard's instance across sessions).
    const other = await g.client();
    await other.callTool({ name: "mail__send_email", arguments: { to: "a", body: "b" } });
    await c.callTool({ name: "mail__send_email", arguments: { to: "a", body: "b" } });
    await expect(
      other.callTool({ name: "mail__send_email", arguments: { to: "a", body: "b" } }),
    ).rejects.toThrow(/send_email was called 4 times \(limit 3\)/);
  });
});

if (CLANG_MISSING) console.warn(CLANG_MISSING);
