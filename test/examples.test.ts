// Every example config runs as shipped: the real CLI (`warden gateway --config examples/...`),
// started from another directory, against servers that ship in examples/, answers a real MCP
// call through the SDK client, refuses a denied one, and writes its state (audit, pins) under
// the state directory: nothing appears under examples/ or in the current directory.
// Every example also carries the yaml-language-server header of its shipped schema.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { checkSchema, type ShippedSchema, shippedValidator } from "../src/policy/json-schema.js";
import { CLI, ROOT, tempDir } from "./mcp/helpers.js";

const EXAMPLES = join(ROOT, "examples");

/** Every file under `dir` (relative paths), for "nothing was written here". */
function tree(dir: string, out: string[] = [], base = dir): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const f = join(dir, e.name);
    if (e.isDirectory()) tree(f, out, base);
    else out.push(`${relative(base, f)} ${statSync(f).size}`);
  }
  return out.sort();
}

/** Every YAML file of examples/ (node_modules of guard examples aside). */
function yamlFiles(dir = EXAMPLES, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules") continue;
    const f = join(dir, e.name);
    if (e.isDirectory()) yamlFiles(f, out);
    else if (/\.ya?ml$/.test(e.name)) out.push(f);
  }
  return out.sort();
}

/** The shipped schema a file is written against, from what it holds. */
const kindOf = (file: string): ShippedSchema => {
  const v = parseDocument(readFileSync(file, "utf8")).toJS();
  if (Array.isArray(v)) return "guards";
  if (v && typeof v === "object" && "upstreams" in v) return "warden";
  if (v && typeof v === "object" && "rules" in v) return "rules";
  return v && typeof v === "object" && "cases" in v ? "policy-test" : "policy";
};
// examples/scale-out needs Redis and two instances: test/state/scale-out-example.test.ts runs it
const CONFIGS = yamlFiles().filter(
  (f) => kindOf(f) === "warden" && !f.includes(`${join("examples", "scale-out")}`),
);

/** What each example must allow and deny (a config without an entry fails the test). */
const CALLS: Record<
  string,
  {
    allow: [string, object, RegExp];
    deny: [string, object];
    /** Started first (docs/identity.md): its stdout's ALICE_TOKEN is the client's token. */
    issuer?: string;
  }
> = {
  "warden.stdio.yaml": {
    allow: ["files__read_text_file", { path: "/data/notes/todo.md" }, /Read the gateway docs/],
    deny: ["files__write_file", { path: "/data/x.md", content: "hi" }],
  },
  "warden.http.yaml": {
    allow: ["search__search", { query: "warden" }, /policy gateway/],
    deny: ["files__read_text_file", { path: "/etc/passwd" }],
  },
  "identity/warden.yaml": {
    allow: ["files__read_text_file", { path: "/data/notes/todo.md" }, /Read the gateway docs/],
    deny: ["files__write_file", { path: "/data/x.md", content: "hi" }],
    issuer: "identity/issuer.mjs",
  },
  "demo/warden.yaml": {
    allow: ["read_note", { name: "public/welcome" }, /Welcome to the notes server/],
    deny: ["delete_note", { name: "public/todo" }],
  },
};

/** `warden gateway --config file --port 0` (HTTP): resolves with its URL from stderr. */
function startHttp(file: string, cwd: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [CLI, "gateway", "--config", file, "--port", "0"], {
    cwd,
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  const url = new Promise<string>((ok, fail) => {
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) ok(m[1]!);
    });
    child.once("exit", (code) => fail(new Error(`gateway exited (${code}): ${err}`)));
  });
  return { child, url, stderr: () => err };
}

const exited = (c: ChildProcess) =>
  c.exitCode !== null ? Promise.resolve() : new Promise((r) => c.once("exit", r));

describe("the shipped examples", () => {
  it("are found: each gateway config has its calls listed here", () => {
    expect(CONFIGS.map((f) => relative(EXAMPLES, f)).sort()).toEqual(Object.keys(CALLS).sort());
  });

  for (const file of CONFIGS) {
    const name = relative(EXAMPLES, file);
    it(`${name} runs from another directory, allows and denies, and writes only to the state directory`, async () => {
      const calls = CALLS[name]!;
      const cwd = tempDir();
      const xdg = tempDir();
      const env: NodeJS.ProcessEnv = { ...process.env, XDG_STATE_HOME: xdg };
      delete env.WARDEN_PORT;
      const before = tree(EXAMPLES);
      const client = new Client({ name: "examples-test", version: "1.0.0" });
      const http = parseDocument(readFileSync(file, "utf8")).getIn(["listen", "http"]) != null;
      let child: ChildProcess | undefined;
      let issuer: ChildProcess | undefined;
      try {
        const headers: Record<string, string> = {};
        if (calls.issuer !== undefined) {
          issuer = spawn(process.execPath, [join(EXAMPLES, calls.issuer)], {
            cwd,
            stdio: ["ignore", "pipe", "ignore"],
          });
          let out = "";
          const token = await new Promise<string>((ok, fail) => {
            issuer!.stdout!.on("data", (d: Buffer) => {
              out += d.toString();
              const m = /^ALICE_TOKEN=(\S+)$/m.exec(out);
              if (m) ok(m[1]!);
            });
            issuer!.once("exit", (code) => fail(new Error(`issuer exited (${code})`)));
          });
          headers.authorization = `Bearer ${token}`;
        }
        if (http) {
          const g = startHttp(file, cwd, env);
          child = g.child;
          await client.connect(
            new StreamableHTTPClientTransport(new URL(await g.url), {
              requestInit: { headers },
            }),
          );
        } else {
          const t = new StdioClientTransport({
            command: process.execPath,
            args: [CLI, "gateway", "--config", file],
            cwd,
            env: env as Record<string, string>,
            stderr: "pipe",
          });
          await client.connect(t);
        }
        // The tools the client sees (rug_pull pins them, in the state directory).
        expect((await client.listTools()).tools.map((t) => t.name)).toContain(calls.allow[0]);
        const [tool, args, expected] = calls.allow;
        const r = (await client.callTool({ name: tool, arguments: args as never })) as {
          content: { text: string }[];
          isError?: boolean;
        };
        expect(r.isError ?? false).toBe(false);
        expect(r.content[0]!.text).toMatch(expected);
        const [denied, dargs] = calls.deny;
        await expect(
          client.callTool({ name: denied, arguments: dargs as never }),
        ).rejects.toMatchObject({ code: -32003 });
      } finally {
        await client.close().catch(() => {});
        if (child) {
          child.kill("SIGTERM");
          await exited(child);
        }
        if (issuer) {
          issuer.kill("SIGTERM");
          await exited(issuer);
        }
      }
      // State went to the state directory; nothing was written beside the examples or in cwd.
      const audit = join(xdg, "warden", "audit.jsonl");
      await expect.poll(() => existsSync(audit)).toBe(true);
      const lines = readFileSync(audit, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      const denied = calls.deny[0];
      expect(lines.some((l) => l.decision === "deny" && JSON.stringify(l).includes(denied))).toBe(
        true,
      );
      const guards = parseDocument(readFileSync(file, "utf8")).get("security_guards");
      if (JSON.stringify(guards ?? []).includes("rug_pull"))
        expect(existsSync(join(xdg, "warden", "pins.json"))).toBe(true);
      expect(tree(EXAMPLES)).toEqual(before);
      expect(readdirSync(cwd)).toEqual([]);
    });
  }

  it("carry the yaml-language-server header of their shipped schema, and validate against it", () => {
    const files = (
      JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { files: string[] }
    ).files;
    const all = yamlFiles();
    expect(all.length).toBeGreaterThanOrEqual(8);
    for (const f of all) {
      const text = readFileSync(f, "utf8");
      const kind = kindOf(f);
      const m = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
      expect(m, `${f} starts with the yaml-language-server header`).not.toBeNull();
      const target = resolve(dirname(f), m![1]!);
      // A relative path to the schema that ships beside examples/ in the package.
      expect(m![1]!.startsWith(".")).toBe(true);
      expect(target).toBe(join(ROOT, "schemas", `${kind}.schema.json`));
      expect(files).toContain("schemas");
      expect(files).toContain("examples");
      const value = parseDocument(text).toJS();
      const problems = checkSchema(shippedValidator(kind), value);
      expect(
        problems.map((p) => `${p.path.join(".")}: ${p.message}`),
        f,
      ).toEqual([]);
    }
  });
});
