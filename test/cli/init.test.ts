/**
 * `warden init` against real MCP servers (server-filesystem, server-memory, started from
 * node_modules so the tests stay offline): it writes a warden.yaml and policy.yaml that pass
 * `warden gateway --check`, and a real gateway started from them, driven by a real SDK client,
 * allows a read-only tool and denies a destructive one, under the names the gateway exposes.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadPolicyFile } from "../../src/policy/index.js";
import { tempDir, until } from "../mcp/helpers.js";
import { gatewayClient, wardenAsync as warden } from "./init-helpers.js";

/** Each test starts servers and CLIs; a loaded 2-core machine needs more than the default. */
const SLOW = 120_000;
const require = createRequire(import.meta.url);
const FS_SERVER = require.resolve("@modelcontextprotocol/server-filesystem/dist/index.js");
const MEMORY_SERVER = require.resolve("@modelcontextprotocol/server-memory/dist/index.js");
const NODE = JSON.stringify(process.execPath);

const root = realpathSync(tempDir());
const data = join(root, "data");
mkdirSync(data);
writeFileSync(join(data, "hello.txt"), "hello from data");
writeFileSync(join(root, "outside.txt"), "not for the client");

const open: { client: Client; transport: StdioClientTransport }[] = [];
afterAll(async () => {
  await Promise.all(open.map((o) => o.client.close().catch(() => {})));
  rmSync(root, { recursive: true, force: true });
});

const fsUpstream = `${NODE} ${JSON.stringify(FS_SERVER)} ${JSON.stringify(data)}`;
const memoryUpstream = `${NODE} ${JSON.stringify(MEMORY_SERVER)}`;

interface Summary {
  ok: boolean;
  config: string;
  policy: string;
  upstreams: { name: string; prefix: boolean; directories: string[]; tools: number }[];
  tools: { allowed: string[]; denied: string[]; undecided: string[] };
  next: { client: { command: string; args: string[] } };
}

async function init(dir: string, ...args: string[]): Promise<Summary> {
  const r = await warden(["init", "--dir", dir, "--json", ...args], {
    env: { ...process.env, MEMORY_FILE_PATH: join(root, "memory.jsonl") },
  });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Summary;
}

async function gateway(config: string): Promise<Client> {
  const o = await gatewayClient(config, join(root, "state"));
  open.push(o);
  return o.client;
}

async function call(client: Client, name: string, args: Record<string, unknown>) {
  try {
    return { ok: true as const, result: await client.callTool({ name, arguments: args }) };
  } catch (e) {
    return { ok: false as const, error: e as { code: number; message: string } };
  }
}

const text = (r: Awaited<ReturnType<typeof call>>) =>
  r.ok ? (r.result.content as { type: string; text?: string }[])[0]?.text : undefined;

describe("warden init: server-filesystem", { timeout: SLOW }, () => {
  const dir = join(root, "fs");
  let s: Summary;

  it("writes warden.yaml and policy.yaml with the schema header, from the tools' annotations", async () => {
    s = await init(dir, "--upstream", fsUpstream);
    expect(s.upstreams).toMatchObject([
      { name: "filesystem", prefix: false, directories: [data], tools: 14 },
    ]);
    expect(s.tools.allowed).toContain("read_text_file");
    expect(s.tools.denied.sort()).toEqual(["edit_file", "move_file", "write_file"]);
    expect(s.tools.undecided).toEqual(["create_directory"]);

    const configText = readFileSync(join(dir, "warden.yaml"), "utf8");
    const policyText = readFileSync(join(dir, "policy.yaml"), "utf8");
    for (const [t, schema] of [
      [configText, "warden.schema.json"],
      [policyText, "policy.schema.json"],
    ] as const) {
      const first = t.split("\n")[0]!;
      expect(first).toMatch(/^# yaml-language-server: \$schema=\S+/);
      const path = first.split("$schema=")[1]!;
      // the header points at the shipped schema, relative to the file
      expect(readFileSync(join(dir, path), "utf8")).toBe(
        readFileSync(join("schemas", schema), "utf8"),
      );
    }
    const config = parse(configText);
    expect(config).toMatchObject({
      listen: "stdio",
      policy: "./policy.yaml",
      upstreams: [{ name: "filesystem", command: process.execPath, args: [FS_SERVER, data] }],
    });
    const policy = parse(policyText);
    expect(policy.storage.allow).toEqual([{ uri: `${data}/**`, access: ["read"] }]);
    expect(policy.mcp.transport).toEqual({ stdio: true });
    const allow = policy.mcp.tools.allow as (string | { name: string; parameters?: unknown })[];
    expect(allow).toContainEqual({ name: "read_text_file", parameters: { path: `${data}/**` } });
    expect(allow).toContainEqual({
      name: "read_multiple_files",
      parameters: { paths: { items: `${data}/**` } },
    });
    expect(allow).toContain("list_allowed_directories");
    expect(JSON.stringify(allow)).not.toContain("create_directory");
    // the undecided tool is there for the user, commented out, with its path rule and description
    expect(policyText).toMatch(
      /# - name: create_directory {2}# neither read-only nor destructive: Create a new directory/,
    );
    expect(policyText).toContain(`#     path: ${data}/**`);
    expect(policy.mcp.tools.deny.sort()).toEqual(["edit_file", "move_file", "write_file"]);
  });

  it("passes warden gateway --check", async () => {
    const r = await warden(["gateway", "--check", "--config", join(dir, "warden.yaml")]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, upstreams: ["filesystem"] });
  });

  it("uncommenting the undecided rule gives a policy that compiles and allows it", async () => {
    const lines = readFileSync(join(dir, "policy.yaml"), "utf8").split("\n");
    const at = lines.findIndex((l) => /^\s*# - name: create_directory /.test(l));
    expect(at).toBeGreaterThan(0);
    for (const i of [at, at + 1, at + 2]) lines[i] = lines[i]!.replace("# ", "");
    writeFileSync(join(dir, "edited.yaml"), lines.join("\n"));
    const q = await loadPolicyFile(join(dir, "edited.yaml"));
    expect(q.ok, JSON.stringify(!q.ok && q.errors)).toBe(true);
    if (!q.ok) return;
    const d = q.policy.check({
      kind: "tool.call",
      name: "create_directory",
      arguments: { path: join(data, "new") },
    });
    expect(d.allowed, d.reason).toBe(true);
  });

  it("a gateway started from them allows a read-only call and denies a destructive one", async () => {
    const client = await gateway(join(dir, "warden.yaml"));
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain("read_text_file");
    expect(names).not.toContain("write_file");
    expect(names).not.toContain("create_directory");

    const read = await call(client, "read_text_file", { path: join(data, "hello.txt") });
    expect(text(read)).toBe("hello from data");

    const write = await call(client, "write_file", { path: join(data, "x.txt"), content: "x" });
    expect(write.ok).toBe(false);
    expect(write.ok ? 0 : write.error.code).toBe(-32003);

    // the path rule holds the read-only tool to the server's directory
    const outside = await call(client, "read_text_file", { path: join(root, "outside.txt") });
    expect(outside.ok).toBe(false);
    expect(outside.ok ? "" : outside.error.message).toMatch(/outside/);
  });
});

describe("warden init in a fresh folder, as the README's quick start", { timeout: SLOW }, () => {
  it("keeps ./data relative: the gateway, started from elsewhere, serves the folder's data", async () => {
    const home = join(root, "home");
    mkdirSync(join(home, "data"), { recursive: true });
    writeFileSync(join(home, "data", "note.txt"), "a note");
    const r = await warden(
      ["init", "--json", "--upstream", `${NODE} ${JSON.stringify(FS_SERVER)} ./data`],
      {
        cwd: home,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const config = parse(readFileSync(join(home, "warden.yaml"), "utf8"));
    expect(config.upstreams[0].args).toEqual([FS_SERVER, "./data"]);
    expect(config.upstreams[0].cwd).toBeUndefined(); // the config's folder, the gateway's default
    const policy = parse(readFileSync(join(home, "policy.yaml"), "utf8"));
    expect(policy.storage.allow).toEqual([{ uri: `${join(home, "data")}/**`, access: ["read"] }]);

    const client = await gateway(join(home, "warden.yaml")); // this process's cwd is not home
    const read = await call(client, "read_text_file", { path: join(home, "data", "note.txt") });
    expect(text(read)).toBe("a note");
  });
});

describe("warden init: server-memory", { timeout: SLOW }, () => {
  const dir = join(root, "memory");

  it("allows its read-only tools, denies its delete tools, leaves the others to decide", async () => {
    const s = await init(dir, "--upstream", memoryUpstream);
    expect(s.upstreams).toMatchObject([{ name: "memory", prefix: false, directories: [] }]);
    expect(s.tools.allowed.sort()).toEqual(["open_nodes", "read_graph", "search_nodes"]);
    expect(s.tools.denied.sort()).toEqual([
      "delete_entities",
      "delete_observations",
      "delete_relations",
    ]);
    expect(s.tools.undecided.sort()).toEqual([
      "add_observations",
      "create_entities",
      "create_relations",
    ]);
    const policyText = readFileSync(join(dir, "policy.yaml"), "utf8");
    // its resource is listed for the user, commented out
    expect(policyText).toContain("#     - uri: memory://knowledge-graph");
    expect(parse(policyText).storage).toBeUndefined();
    const r = await warden(["gateway", "--check", "--config", join(dir, "warden.yaml")]);
    expect(r.code, r.stderr).toBe(0);

    const client = await gateway(join(dir, "warden.yaml"));
    const read = await call(client, "read_graph", {});
    expect(read.ok).toBe(true);
    const del = await call(client, "delete_entities", { entityNames: ["x"] });
    expect(del.ok ? 0 : del.error.code).toBe(-32003);
    const create = await call(client, "create_entities", { entities: [] });
    expect(create.ok ? 0 : create.error.code).toBe(-32003);
  });
});

describe("warden init: two servers at once", { timeout: SLOW }, () => {
  const dir = join(root, "both");

  it("writes the prefixed names the gateway exposes, and the gateway judges them", async () => {
    const s = await init(dir, "--upstream", fsUpstream, "--upstream", memoryUpstream);
    expect(s.upstreams.map((u) => [u.name, u.prefix])).toEqual([
      ["filesystem", true],
      ["memory", true],
    ]);
    expect(s.tools.allowed).toContain("filesystem__read_text_file");
    expect(s.tools.allowed).toContain("memory__read_graph");
    expect(s.tools.denied).toContain("memory__delete_entities");
    const config = parse(readFileSync(join(dir, "warden.yaml"), "utf8"));
    expect(config.upstreams.map((u: { prefix: boolean }) => u.prefix)).toEqual([true, true]);
    const r = await warden(["gateway", "--check", "--config", join(dir, "warden.yaml")]);
    expect(r.code, r.stderr).toBe(0);

    const client = await gateway(join(dir, "warden.yaml"));
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual([...s.tools.allowed].sort());
    const read = await call(client, "filesystem__read_text_file", {
      path: join(data, "hello.txt"),
    });
    expect(text(read)).toBe("hello from data");
    expect((await call(client, "memory__read_graph", {})).ok).toBe(true);
    const del = await call(client, "memory__delete_entities", { entityNames: ["x"] });
    expect(del.ok ? 0 : del.error.code).toBe(-32003);
    const write = await call(client, "filesystem__write_file", {
      path: join(data, "x.txt"),
      content: "x",
    });
    expect(write.ok ? 0 : write.error.code).toBe(-32003);

    // the written config audits into the state directory, where `warden audit` finds it
    const audit = join(root, "state", "warden", "audit.jsonl");
    const lines = () =>
      existsSync(audit)
        ? readFileSync(audit, "utf8")
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l) as { name?: string; decision?: string })
        : [];
    await until(() => lines().some((l) => l.name === "filesystem__write_file"), 20_000, "audit");
    expect(lines()).toContainEqual(
      expect.objectContaining({ name: "memory__delete_entities", decision: "deny" }),
    );
    expect(lines()).toContainEqual(
      expect.objectContaining({ name: "filesystem__read_text_file", decision: "allow" }),
    );
  });
});
