/**
 * `warden init`'s inputs and refusals: it never overwrites without --force, a bad or failing
 * upstream gives an error naming it and writes nothing, a client's config is imported in each
 * shape (Claude Desktop, VS Code, Cursor), lists are read page by page, and a hostile server's
 * tool list cannot widen the policy it writes.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { startFixture } from "../../scripts/conformance/run.mjs";
import { parseUpstreamOption } from "../../src/cli/init/spec.js";
import { loadPolicyFile } from "../../src/policy/index.js";
import { FIXTURE_SERVER, tempDir } from "../mcp/helpers.js";
import { wardenAsync as warden } from "./init-helpers.js";

/** Each test starts servers and CLIs; a loaded 2-core machine needs more than the default. */
const SLOW = 120_000;
const require = createRequire(import.meta.url);
const FS_SERVER = require.resolve("@modelcontextprotocol/server-filesystem/dist/index.js");
const MEMORY_SERVER = require.resolve("@modelcontextprotocol/server-memory/dist/index.js");
const HOSTILE = join(import.meta.dirname, "../fixtures/init/hostile-server.mjs");
const NODE = JSON.stringify(process.execPath);
const q = JSON.stringify;
/** A VS Code variable warden init cannot expand (written so, not as a template literal). */
const ENV_VAR = "$" + "{env:SECRET}";

const root = realpathSync(tempDir());
const data = join(root, "data");
mkdirSync(data);
// in its own process: await warden() waits synchronously, so an in-process server could not answer
let http: Awaited<ReturnType<typeof startFixture>>;
beforeAll(async () => {
  http = await startFixture();
});
afterAll(async () => {
  await http.close();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
const fresh = () => join(root, `out${++n}`);
const written = (dir: string) =>
  ["warden.yaml", "policy.yaml"].filter((f) => existsSync(join(dir, f)));
const check = (dir: string) => warden(["gateway", "--check", "--config", join(dir, "warden.yaml")]);

describe("warden init refuses", { timeout: SLOW }, () => {
  it("to overwrite warden.yaml or policy.yaml without --force, naming the file", async () => {
    const dir = fresh();
    mkdirSync(dir);
    writeFileSync(join(dir, "policy.yaml"), "# mine\n");
    const r = await warden([
      "init",
      "--dir",
      dir,
      "--upstream",
      `${NODE} ${q(FS_SERVER)} ${q(data)}`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`warden: init_file_exists: ${join(dir, "policy.yaml")} exists`);
    expect(r.stderr).toContain("--force");
    expect(readFileSync(join(dir, "policy.yaml"), "utf8")).toBe("# mine\n");
    expect(written(dir)).toEqual(["policy.yaml"]);

    const f = await warden([
      "init",
      "--dir",
      dir,
      "--force",
      "--upstream",
      `${NODE} ${q(FS_SERVER)} ${q(data)}`,
    ]);
    expect(f.code, f.stderr).toBe(0);
    expect(readFileSync(join(dir, "policy.yaml"), "utf8")).toContain("read_text_file");
  });

  it("a command that does not exist: exit 2, naming the upstream, nothing written", async () => {
    const dir = fresh();
    const r = await warden([
      "init",
      "--dir",
      dir,
      "--upstream",
      "files=no-such-mcp-server-xyz --flag",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^warden: init_upstream_not_found: upstream "files" \(no-such-mcp-server-xyz --flag\): its command "no-such-mcp-server-xyz" was not found on PATH/,
    );
    expect(existsSync(dir)).toBe(false);
  });

  it("a server that exits: exit 3, naming it, with its stderr; every failure on its own line", async () => {
    const dir = fresh();
    const boom = `${NODE} -e ${q("console.error('boom: missing API key'); process.exit(1)")}`;
    const r = await warden([
      "init",
      "--dir",
      dir,
      "--upstream",
      `broken=${boom}`,
      "--upstream",
      "missing=no-such-mcp-server-xyz",
      "--upstream",
      `${NODE} ${q(FS_SERVER)} ${q(data)}`,
    ]);
    expect(r.code).toBe(3);
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toMatch(/^warden: init_upstream_failed: /);
    expect(r.stderr).toMatch(
      /init_upstream_failed: upstream "broken" \(.*\) did not start .*boom: missing API key/,
    );
    expect(r.stderr).toMatch(/init_upstream_not_found: upstream "missing"/);
    expect(lines).toHaveLength(2);
    expect(written(dir)).toEqual([]);
  });

  it("a server that never answers: exit 3 after --timeout, naming it", async () => {
    const dir = fresh();
    const r = await warden([
      "init",
      "--dir",
      dir,
      "--timeout",
      "1",
      "--upstream",
      `silent=${NODE} -e ${q("setInterval(() => {}, 1000)")}`,
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /init_upstream_failed: upstream "silent" .* did not answer within 1 s \(--timeout\)/,
    );
    expect(written(dir)).toEqual([]);
  });

  it("shell syntax in --upstream (the gateway runs no shell)", async () => {
    for (const cmd of ["node $HOME/server.js", "node *.js", "node s.js > out", "node s.js # c"])
      expect(() => parseUpstreamOption(cmd, root), cmd).toThrow(/is shell syntax/);
    expect(parseUpstreamOption(`files=node "a b.js" 'c d' e\\ f`, root)).toMatchObject({
      name: "files",
      command: "node",
      args: ["a b.js", "c d", "e f"],
    });
    const r = await warden(["init", "--dir", fresh(), "--upstream", "node server.js | tee log"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^warden: usage: --upstream .* "\|" is shell syntax/);
  });

  it("a client config with a variable it cannot expand, or without servers", async () => {
    const dir = fresh();
    mkdirSync(dir);
    const file = join(dir, "mcp.json");
    writeFileSync(file, q({ servers: { s: { command: "node", args: [ENV_VAR] } } }));
    let r = await warden(["init", "--dir", dir, "--from", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("init_input_invalid");
    expect(r.stderr).toContain(`servers.s.args[0] uses ${ENV_VAR}`);
    writeFileSync(file, q({ something: {} }));
    r = await warden(["init", "--dir", dir, "--from", file, "--json"]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe("init_input_invalid");
    expect(written(dir)).toEqual([]);
  });
});

describe("warden init --from a client's config", { timeout: SLOW }, () => {
  it("Claude Desktop (mcpServers): names from its keys, env kept, prefixed names", async () => {
    const dir = fresh();
    mkdirSync(dir);
    const file = join(dir, "claude_desktop_config.json");
    writeFileSync(
      file,
      q({
        mcpServers: {
          filesystem: { command: process.execPath, args: [FS_SERVER, data] },
          my_memory: {
            command: process.execPath,
            args: [MEMORY_SERVER],
            env: { MEMORY_FILE_PATH: join(root, "memory.jsonl") },
          },
        },
      }),
    );
    const r = await warden(["init", "--dir", dir, "--from", file, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.upstreams.map((u: { name: string }) => u.name)).toEqual(["filesystem", "my-memory"]);
    expect(s.tools.allowed).toContain("my-memory__read_graph");
    expect(s.tools.denied).toContain("filesystem__write_file");
    const config = parse(readFileSync(join(dir, "warden.yaml"), "utf8"));
    expect(config.upstreams[1]).toMatchObject({
      name: "my-memory",
      env: { MEMORY_FILE_PATH: join(root, "memory.jsonl") },
      prefix: true,
    });
    expect((await check(dir)).code).toBe(0);
  });

  it("VS Code (.vscode/mcp.json: servers, comments, the workspaceFolder variable, an http server)", async () => {
    const ws = join(root, "ws");
    mkdirSync(join(ws, ".vscode"), { recursive: true });
    mkdirSync(join(ws, "docs"));
    const file = join(ws, ".vscode", "mcp.json");
    writeFileSync(
      file,
      `{
  // servers of this workspace
  "servers": {
    "docs": {
      "type": "stdio",
      "command": ${q(process.execPath)},
      "args": [${q(FS_SERVER)}, "\${workspaceFolder}/docs"],
    },
    "fixture": { "type": "http", "url": ${q(http.url)} },
  },
  "inputs": [],
}`,
    );
    const dir = fresh();
    const r = await warden(["init", "--dir", dir, "--from", file, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const policy = parse(readFileSync(join(dir, "policy.yaml"), "utf8"));
    expect(policy.mcp.transport).toEqual({ stdio: true, http: { allowed_hosts: ["127.0.0.1"] } });
    expect(policy.storage.allow).toEqual([{ uri: `${join(ws, "docs")}/**`, access: ["read"] }]);
    expect(policy.mcp.tools.allow).toContainEqual({
      name: "docs__read_text_file",
      parameters: { path: `${join(ws, "docs")}/**` },
    });
    const config = parse(readFileSync(join(dir, "warden.yaml"), "utf8"));
    expect(config.upstreams[1]).toEqual({ name: "fixture", url: http.url, prefix: true });
    // the fixture's prompts and resources are listed for the user, prefixed
    const text = readFileSync(join(dir, "policy.yaml"), "utf8");
    expect(text).toContain("#     - name: fixture__test_simple_prompt");
    expect(text).toContain("#     - uri: fixture+test://static-text");
    expect((await check(dir)).code, (await check(dir)).stderr).toBe(0);
  });

  it("Cursor (.cursor/mcp.json: mcpServers with a url)", async () => {
    const ws = join(root, "cursor");
    mkdirSync(join(ws, ".cursor"), { recursive: true });
    const file = join(ws, ".cursor", "mcp.json");
    writeFileSync(
      file,
      q({
        mcpServers: {
          remote: { url: http.url },
          memory: { command: process.execPath, args: [MEMORY_SERVER] },
        },
      }),
    );
    const dir = fresh();
    const r = await warden(["init", "--dir", dir, "--from", file, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(
      s.upstreams.map((u: { name: string; transport: string }) => [u.name, u.transport]),
    ).toEqual([
      ["remote", "http"],
      ["memory", "stdio"],
    ]);
    expect((await check(dir)).code).toBe(0);
  });
});

describe("warden init reads every page and names an HTTP server's host", { timeout: SLOW }, () => {
  it("a paginated server gives the same tools as an unpaginated one", async () => {
    const one = fresh();
    const paged = fresh();
    const a = await warden([
      "init",
      "--dir",
      one,
      "--json",
      "--upstream",
      `${NODE} ${q(FIXTURE_SERVER)}`,
    ]);
    const b = await warden([
      "init",
      "--dir",
      paged,
      "--json",
      "--upstream",
      `${NODE} ${q(FIXTURE_SERVER)} --page-size 2`,
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const [x, y] = [JSON.parse(a.stdout), JSON.parse(b.stdout)];
    expect(x.upstreams[0].tools).toBeGreaterThan(10);
    expect(y.upstreams[0]).toMatchObject({
      tools: x.upstreams[0].tools,
      prompts: x.upstreams[0].prompts,
      resources: x.upstreams[0].resources,
    });
    expect(y.tools).toEqual(x.tools);
  });

  it("--upstream-url: the transport and its host are allowed", async () => {
    const dir = fresh();
    const r = await warden([
      "init",
      "--dir",
      dir,
      "--json",
      "--upstream-url",
      `search=${http.url}`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).upstreams[0]).toMatchObject({ name: "search", transport: "http" });
    const policy = parse(readFileSync(join(dir, "policy.yaml"), "utf8"));
    expect(policy.mcp.transport.http).toEqual({ allowed_hosts: ["127.0.0.1"] });
    expect((await check(dir)).code).toBe(0);
  });
});

describe("a hostile server's tool list cannot widen the policy warden init writes", {
  timeout: SLOW,
}, () => {
  it("glob names match only themselves, descriptions stay comments, contradictions are undecided", async () => {
    const dir = fresh();
    const r = await warden(["init", "--dir", dir, "--json", "--upstream", `${NODE} ${q(HOSTILE)}`]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.tools.undecided.sort()).toEqual(["both", "ｗipe"].sort());
    const text = readFileSync(join(dir, "policy.yaml"), "utf8");
    const policy = parse(text);
    // the description's YAML stayed inside a comment: the keys are what warden init wrote
    expect(Object.keys(policy.mcp)).toEqual(["transport", "tools"]);
    expect(policy.mcp.tools).toEqual({
      allow: ["[*]", "[[]a-z[]][*]", "notes"],
      deny: ["wipe"],
    });
    expect((await check(dir)).code).toBe(0);
    const p = await loadPolicyFile(join(dir, "policy.yaml"));
    if (!p.ok) throw new Error(JSON.stringify(p.errors));
    const allowed = (name: string) => p.policy.check({ kind: "tool.call", name }).allowed;
    expect(allowed("*")).toBe(true);
    expect(allowed("[a-z]*")).toBe(true);
    expect(allowed("notes")).toBe(true);
    for (const name of ["both", "wipe", "ｗipe", "anything", "a", "xnotes", "[a-z]x"])
      expect(allowed(name), name).toBe(false);
  });
});
