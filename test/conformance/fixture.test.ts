// The fixture MCP server's own features, driven by a real SDK client over real stdio and HTTP.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  PromptListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FixtureProcess,
  fixtureStdioCommand,
  startFixture,
} from "../../scripts/conformance/run.mjs";

const SERVER = fileURLToPath(new URL("../fixtures/mcp-server/server.mjs", import.meta.url));

type Call = { content: { type: string; text?: string }[]; isError?: boolean };
const textOf = (r: unknown) => (r as Call).content[0]?.text ?? "";
const jsonOf = (r: unknown) => JSON.parse(textOf(r));

async function connect(transport: Transport) {
  const client = new Client(
    { name: "fixture-test", version: "1.0.0" },
    { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } },
  );
  const seen: string[] = [];
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
    model: "test-model",
    role: "assistant" as const,
    content: {
      type: "text" as const,
      text: `re: ${JSON.stringify(req.params.messages[0]?.content)}`,
    },
  }));
  client.setRequestHandler(ElicitRequestSchema, async () => ({
    action: "accept" as const,
    content: { name: "Ada" },
  }));
  client.setRequestHandler(ListRootsRequestSchema, async () => ({
    roots: [{ uri: "file:///srv/data", name: "data" }],
  }));
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    seen.push(`log:${n.params.level}:${n.params.data}`);
  });
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    seen.push(`updated:${n.params.uri}`);
  });
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    seen.push("tools/list_changed");
  });
  client.setNotificationHandler(PromptListChangedNotificationSchema, () => {
    seen.push("prompts/list_changed");
  });
  await client.connect(transport);
  return { client, seen };
}

function features(open: () => Promise<{ client: Client; seen: string[] }>) {
  let client: Client;
  let seen: string[];
  beforeAll(async () => {
    ({ client, seen } = await open());
  });
  afterAll(async () => {
    await client?.close();
  });

  it("lists the conformance and fixture tools, and echoes", async () => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["test_tool_with_progress", "echo", "slow"]));
    expect(textOf(await client.callTool({ name: "echo", arguments: { text: "hi" } }))).toBe("hi");
    const bad = (await client.callTool({ name: "echo", arguments: { text: 3 } })) as Call;
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toContain('"text" must be of type string');
  });

  it("reports progress and counts a cancelled call", async () => {
    const progress: number[] = [];
    const ac = new AbortController();
    const call = client.callTool(
      { name: "slow", arguments: { ms: 20_000, steps: 200 } },
      undefined,
      {
        signal: ac.signal,
        onprogress: (p) => {
          progress.push(p.progress);
          if (progress.length === 3) ac.abort("enough");
        },
      },
    );
    await expect(call).rejects.toThrow();
    expect(progress).toEqual([1, 2, 3]);
    await expect
      .poll(async () => jsonOf(await client.callTool({ name: "stats" })).cancelled)
      .toBe(1);
  });

  it("sends sampling, elicitation and roots requests back to the client", async () => {
    const s = jsonOf(await client.callTool({ name: "sample", arguments: { prompt: "2+2" } }));
    expect(s.model).toBe("test-model");
    expect(s.content.text).toContain("2+2");
    const e = jsonOf(await client.callTool({ name: "elicit", arguments: { message: "name?" } }));
    expect(e).toEqual({ action: "accept", content: { name: "Ada" } });
    const r = jsonOf(await client.callTool({ name: "list_roots" }));
    expect(r.roots).toEqual([{ uri: "file:///srv/data", name: "data" }]);
  });

  it("filters logs by the level set, notifies subscribers and list changes", async () => {
    await client.setLoggingLevel("warning");
    expect(
      jsonOf(await client.callTool({ name: "log", arguments: { level: "info", message: "a" } }))
        .sent,
    ).toBe(false);
    await client.callTool({ name: "log", arguments: { level: "error", message: "b" } });
    await client.subscribeResource({ uri: "test://watched-resource" });
    await client.callTool({ name: "update_resource" });
    const read = await client.readResource({ uri: "test://watched-resource" });
    expect(read.contents[0]).toMatchObject({ text: "Watched resource content (version 2)" });
    await client.callTool({ name: "toggle_dynamic", arguments: { kind: "tools" } });
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("dynamic_tool");
    expect(seen).toEqual(
      expect.arrayContaining([
        "log:error:b",
        "updated:test://watched-resource",
        "tools/list_changed",
      ]),
    );
    expect(seen).not.toContain("log:info:a");
  });

  it("serves templates, prompts and completion, and answers ping", async () => {
    const t = await client.readResource({ uri: "test://template/42/data" });
    const content = t.contents[0];
    expect(content && "text" in content ? JSON.parse(content.text).id : undefined).toBe("42");
    await expect(client.readResource({ uri: "test://nope" })).rejects.toThrow(/not found/);
    const p = await client.getPrompt({
      name: "test_prompt_with_arguments",
      arguments: { arg1: "x", arg2: "y" },
    });
    expect(p.messages[0]?.content).toMatchObject({
      text: "Prompt with arguments: arg1='x', arg2='y'",
    });
    await expect(client.getPrompt({ name: "test_prompt_with_arguments" })).rejects.toThrow(/arg1/);
    const c = await client.complete({
      ref: { type: "ref/prompt", name: "test_prompt_with_arguments" },
      argument: { name: "arg1", value: "par" },
    });
    expect(c.completion.values).toEqual(["paris", "park", "party"]);
    expect(await client.ping()).toEqual({});
  });
}

describe("fixture over stdio", () => {
  features(() => connect(new StdioClientTransport(fixtureStdioCommand())));

  it("exits when its stdin closes", async () => {
    const child = spawn(process.execPath, [SERVER], { stdio: ["pipe", "ignore", "ignore"] });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.stdin.end();
    expect(await exited).toBe(0);
  });
});

describe("fixture over Streamable HTTP", () => {
  let fixture: FixtureProcess;
  beforeAll(async () => {
    fixture = await startFixture();
  });
  afterAll(async () => {
    await fixture?.close();
  });

  features(() => connect(new StreamableHTTPClientTransport(new URL(fixture.url))));

  it("paginates lists with --page-size", async () => {
    const paged = await startFixture({ args: ["--page-size", "5"] });
    const { client } = await connect(new StreamableHTTPClientTransport(new URL(paged.url)));
    const first = await client.listTools();
    expect(first.tools).toHaveLength(5);
    expect(first.nextCursor).toBe("5");
    const second = await client.listTools({ cursor: first.nextCursor });
    expect(second.tools[0]?.name).not.toBe(first.tools[0]?.name);
    await client.close();
    await paged.close();
  });

  it("rejects a foreign Origin (DNS rebinding)", async () => {
    const res = await fetch(fixture.url, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://evil.example" },
      body: "{}",
    });
    expect(res.status).toBe(403);
  });
});
