import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./build.js";
import { gatewayWith, type Running, textOf, upstream } from "./gateway-helpers.js";

const CLI = join(ROOT, "dist", "cli", "main.js");

const GUARDS = `  - id: whitelist
    type: server_whitelist
    config: { servers: [mail, evil] }
  - id: poisoning
    type: tool_poisoning
  - id: rugpull
    type: rug_pull
    config: { pins_file: ./pins.json }
  - id: shadowing
    type: tool_shadowing
  - id: pii-in
    type: pii
    runs_on: [tool_invoke]
  - id: pii-out
    type: pii
    runs_on: [response]
    config: { mode: redact }
`;

describe("built-in guards through the gateway, with real MCP servers", () => {
  let g: Running;
  beforeAll(async () => {
    g = await gatewayWith(upstream("mail", "clean") + upstream("evil", "malicious"), GUARDS);
  }, 60_000);
  afterAll(() => g?.stop());

  it("catches the poisoned and the shadowing tools, and passes the clean server untouched", async () => {
    const c = await g.client();
    const tools = (await c.listTools()).tools;
    const listed = tools.map((t) => t.name).sort();
    expect(listed).toEqual([
      "evil__add",
      "evil__echo",
      "evil__lookup_customer",
      "mail__search",
      "mail__send_email",
    ]);
    // The clean server's tools are exactly what it serves (only the gateway's prefix added).
    expect(tools.find((t) => t.name === "mail__send_email")).toMatchObject({
      description: "Sends an email to one recipient.",
      inputSchema: {
        type: "object",
        properties: { to: { type: "string" }, body: { type: "string" } },
      },
    });
    expect(
      textOf(await c.callTool({ name: "mail__send_email", arguments: { to: "team", body: "hi" } })),
    ).toBe("sent to team");
    const notes = g.audit().filter((l) => l.kind === "guard");
    const reasons = notes.map((l) => String(l.reason)).join("\n");
    expect(reasons).toMatch(/Tool poisoning: tool "weather" of server "evil"/);
    expect(reasons).toMatch(/Tool shadowing: tool "add_note" of server "evil"/);
    expect(reasons).not.toMatch(/server "mail"/);
  });

  it("hides a tool that changed after the first listing (rug pull) and refuses calls to it", async () => {
    // Each client session has its own upstream process; the malicious one changes `add` from its
    // second listing on. The first listing matches the pin taken by the first test.
    const c = await g.client();
    const list = async () => (await c.listTools()).tools.map((t) => t.name);
    expect(await list()).toContain("evil__add");
    expect(await list()).not.toContain("evil__add");
    await expect(c.callTool({ name: "evil__add", arguments: { a: 1, b: 2 } })).rejects.toThrow(
      /changed since it was approved/,
    );
    const pins = join(g.dir, "pins.json");
    const rows = JSON.parse(
      execFileSync(process.execPath, [CLI, "pins", "list", "--file", pins], { encoding: "utf8" }),
    );
    expect(rows.find((r: { tool: string }) => r.tool === "add")).toMatchObject({
      server: "evil",
      status: "changed",
    });
    // A person approves the new version: the tool is back.
    execFileSync(process.execPath, [CLI, "pins", "approve", "evil", "add", "--file", pins], {
      encoding: "utf8",
    });
    await new Promise((r) => setTimeout(r, 600)); // the guard re-reads the pins file at most every 500 ms
    expect(await list()).toContain("evil__add");
    expect(textOf(await c.callTool({ name: "evil__add", arguments: { a: 1, b: 2 } }))).toBe("3");
  });

  it("stops PII in arguments (block) and redacts it in results (redact)", async () => {
    const c = await g.client();
    await expect(
      c.callTool({ name: "evil__echo", arguments: { text: "my card is 4111 1111 1111 1111" } }),
    ).rejects.toThrow(
      /Personal or secret data found in the arguments of tools\/call "echo".*1 card/,
    );
    const out = textOf(
      await c.callTool({ name: "evil__lookup_customer", arguments: { id: "42" } }),
    );
    expect(out).toBe(
      "Customer 42: Jane Doe, [REDACTED:email], card [REDACTED:card], phone [REDACTED:phone].",
    );
    expect(textOf(await c.callTool({ name: "evil__echo", arguments: { text: "hello" } }))).toBe(
      "hello",
    );
    const deny = g
      .audit()
      .find((l) => l.decision === "deny" && l.name === "evil__echo" && l.kind === undefined);
    expect(deny).toMatchObject({ rule: "security_guards.pii-in" });
    // The guard's own audit line says which guard decided, and how long each took.
    const note = g
      .audit()
      .find((l) => l.kind === "guard" && l.name === "evil__echo" && l.decision === "deny");
    expect(note).toMatchObject({
      upstream: "evil",
      guards: expect.arrayContaining([
        expect.objectContaining({ guard: "pii-in", outcome: "deny", code: "pii_detected" }),
      ]),
    });
  });
});

describe("response-phase guards know which tool answered", () => {
  it("names the tool (public and upstream-local) and its upstream on a response decision", async () => {
    const g = await gatewayWith(
      upstream("mail", "clean") + upstream("evil", "malicious"),
      "  - id: pii-out\n    type: pii\n    runs_on: [response]\n",
    );
    try {
      const c = await g.client();
      // The guard itself is told the upstream's own tool name (its message uses it).
      await expect(
        c.callTool({ name: "evil__lookup_customer", arguments: { id: "42" } }),
      ).rejects.toThrow(/the result of tools\/call "lookup_customer" \(server "evil"\)/);
      // The guard's audit line names the public tool and the upstream.
      const note = g
        .audit()
        .find((l) => l.kind === "guard" && l.method === "tools/call" && l.decision === "deny");
      expect(note).toMatchObject({
        upstream: "evil",
        name: "evil__lookup_customer",
        guards: [expect.objectContaining({ guard: "pii-out", outcome: "deny" })],
      });
      // So does the gateway's own line for the call.
      expect(
        g.audit().find((l) => l.phase === "outcome" && l.name === "evil__lookup_customer"),
      ).toMatchObject({
        upstream: "evil",
        decision: "deny",
        outcome: "denied",
        method: "tools/call",
        rule: "security_guards.pii-out",
      });
      // A clean answer from the other upstream passes, with no guard line.
      expect(
        textOf(await c.callTool({ name: "mail__send_email", arguments: { to: "a", body: "b" } })),
      ).toBe("sent to a");
      expect(g.audit().filter((l) => l.kind === "guard")).toHaveLength(1);
    } finally {
      await g.stop();
    }
  }, 30_000);
});

describe("server_whitelist through the gateway", () => {
  it("keeps only the unlisted upstream out; the listed one keeps working, the audit names it", async () => {
    const g = await gatewayWith(
      upstream("mail", "clean") + upstream("evil", "malicious"),
      "  - id: whitelist\n    type: server_whitelist\n    config: { servers: [mail] }\n",
    );
    try {
      const c = await g.client();
      expect((await c.listTools()).tools.map((t) => t.name).sort()).toEqual([
        "mail__search",
        "mail__send_email",
      ]);
      expect(
        textOf(await c.callTool({ name: "mail__send_email", arguments: { to: "x", body: "y" } })),
      ).toBe("sent to x");
      await expect(c.callTool({ name: "evil__echo", arguments: { text: "hi" } })).rejects.toThrow(
        /Unknown tool "evil__echo": no upstream serves it/,
      );
      // The refused upstream was never started for the session.
      expect([...g.gw.sessions].map((s) => s.upstreams().map((u) => u.name))).toEqual([["mail"]]);
      const line = g
        .audit()
        .find((l) => l.kind === undefined && l.method === "initialize" && l.decision === "deny");
      expect(line).toMatchObject({ upstream: "evil", rule: "security_guards.whitelist" });
      expect(String(line?.reason)).toMatch(
        /upstream "evil" not connected for this session: Server "evil" is not in the server_whitelist guard "whitelist"/,
      );
      expect(g.audit().some((l) => l.decision === "deny" && l.upstream === "mail")).toBe(false);
    } finally {
      await g.stop();
    }
  }, 30_000);

  it("judges an upstream a config reload adds before starting it", async () => {
    const g = await gatewayWith(
      upstream("mail", "clean"),
      "  - id: whitelist\n    type: server_whitelist\n    config: { servers: [mail] }\n",
    );
    try {
      const c = await g.client();
      expect((await c.listTools()).tools.map((t) => t.name)).toContain("send_email");
      const file = join(g.dir, "warden.yaml");
      const text = readFileSync(file, "utf8");
      writeFileSync(
        file,
        text.replace("security_guards:\n", `${upstream("evil", "malicious")}security_guards:\n`),
      );
      expect(g.gw.reload().ok).toBe(true);
      const denied = () =>
        g.audit().find((l) => l.method === "initialize" && l.decision === "deny" && !l.kind);
      // The reload restarts "mail" too (adding a second upstream changes its prefix): wait for both.
      const mailUp = () =>
        [...g.gw.sessions].every((s) => s.upstreams().every((u) => u.state === "up"));
      for (let i = 0; i < 200 && (denied() === undefined || !mailUp()); i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(denied()).toMatchObject({ upstream: "evil", rule: "security_guards.whitelist" });
      expect([...g.gw.sessions].map((s) => s.upstreams().map((u) => u.name))).toEqual([["mail"]]);
      // The restarted "mail" answers once its initialize is through; "evil" never shows up.
      let names: string[] = [];
      for (let k = 0; k < 80 && names.length < 2; k++) {
        names = await c.listTools().then(
          (r) => r.tools.map((t) => t.name).sort(),
          () => [],
        );
        if (names.length < 2) await new Promise((r) => setTimeout(r, 25));
      }
      expect(names).toEqual(["mail__search", "mail__send_email"]);
    } finally {
      await g.stop();
    }
  }, 30_000);

  it("refuses the session when no upstream is allowed, naming the server", async () => {
    const g = await gatewayWith(
      upstream("evil", "malicious"),
      "  - id: whitelist\n    type: server_whitelist\n    config: { servers: [mail] }\n",
    );
    try {
      await expect(g.client()).rejects.toThrow(
        /Server "evil" is not in the server_whitelist guard "whitelist"/,
      );
    } finally {
      await g.stop();
    }
  }, 30_000);
});
