// Warden as a user installs it: `npm pack` the checkout, install the tarball into an empty
// prefix (`npm install -g --prefix`), then run the installed `warden` binary: --version, the
// demo, and a real stdio gateway session driven by the MCP SDK's client, one call allowed and
// one denied, then `warden audit` on what it wrote. The install reads the npm cache first
// (`--prefer-offline`; `npm ci` has just filled it), so it works without the registry when the
// cache holds the dependencies.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_SERVER } from "../../scripts/conformance/run.mjs";

const ROOT = resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
};
const dir = mkdtempSync(join(tmpdir(), "warden-install-"));
const prefix = join(dir, "prefix");
const bin = join(prefix, "bin", "warden");
const home = join(dir, "home");

/** npm, without the variables `npm test` sets for its own run (global, prefix, package). */
async function npm(args: string[], cwd: string): Promise<string> {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^npm_(config_(global|prefix|location)|lifecycle_|package_)/i.test(k)) delete env[k];
  }
  try {
    const r = await promisify(execFile)("npm", args, { cwd, env, maxBuffer: 64 << 20 });
    return r.stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `npm ${args.join(" ")} failed in ${cwd}:\n${err.stderr ?? ""}${err.stdout ?? ""}${err.message}`,
    );
  }
}

/** The installed binary, from a directory outside the checkout, with a clean HOME. */
async function warden(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, HOME: home, XDG_STATE_HOME: join(home, ".local/state") };
  try {
    const r = await promisify(execFile)(bin, args, { cwd: home, env, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string; message: string };
    if (typeof err.code !== "number") throw e;
    return { code: err.code, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, "dist", "cli", "main.js"))) {
    throw new Error(`${ROOT}/dist is missing: run npm run build first (npm test does)`);
  }
  mkdirSync(home, { recursive: true });
  // --ignore-scripts: dist/ is built already (npm test builds it); prepare would only check.
  const out = await npm(["pack", "--ignore-scripts", "--json", "--pack-destination", dir], ROOT);
  const [packed] = JSON.parse(out) as [{ filename: string }];
  const tarball = join(dir, packed.filename);
  await npm(
    [
      "install",
      "--global",
      "--prefix",
      prefix,
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      "--loglevel=error",
      tarball,
    ],
    dir,
  );
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the tarball installed into an empty prefix", () => {
  it("puts a warden binary on the prefix's bin that prints the package's version", async () => {
    expect(existsSync(bin), `${bin} after npm install -g --prefix`).toBe(true);
    const r = await warden(["--version"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe(pkg.version);
    expect(r.code).toBe(0);
  });

  it("ships the admin page's files (HTML, the ES module, CSS), which the installed copy serves", async () => {
    const installed = join(prefix, "lib", "node_modules", pkg.name, "dist", "admin", "page");
    const mod = (await import(join(installed, "assets.js"))) as {
      loadPageAssets(): readonly { path: string; body: Buffer }[];
    };
    const assets = mod.loadPageAssets();
    expect(assets.map((a) => a.path)).toEqual(["/", "/page.js", "/page.css"]);
    for (const [a, file] of assets.map(
      (a, i) => [a, ["index.html", "page.js", "page.css"][i]!] as const,
    ))
      expect(
        a!.body.equals(readFileSync(join(ROOT, "src", "admin", "page", "assets", file))),
        file,
      ).toBe(true);
  });

  it("runs the demo from the installed copy: allowed and denied calls, each with its rule", async () => {
    const r = await warden(["demo", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      gateway: { what: string; decision: string; why: string }[];
    };
    const decisions = out.gateway.map((s) => s.decision);
    expect(decisions).toContain("allow");
    expect(decisions).toContain("deny");
    const denied = out.gateway.find((s) => s.what === "tools/call read_note private/diary");
    expect(denied?.decision).toBe("deny");
    // The demo's files are the installed package's, not the checkout's.
    expect(denied?.why).toContain(
      join(prefix, "lib", "node_modules", pkg.name, "examples", "demo"),
    );
  });

  it("runs a stdio gateway that an SDK client talks to: one call allowed, one denied", async () => {
    const work = join(dir, "gw");
    mkdirSync(work, { recursive: true });
    writeFileSync(
      join(work, "policy.yaml"),
      [
        'version: "1.0"',
        "mcp:",
        "  transport: { stdio: true }",
        "  tools:",
        '    allow: ["echo"]',
        '    deny: ["add"]',
        "",
      ].join("\n"),
    );
    const config = join(work, "warden.yaml");
    writeFileSync(
      config,
      [
        "listen: stdio",
        "policy: ./policy.yaml",
        "audit: { file: ./audit.jsonl }",
        "upstreams:",
        "  - name: fixture",
        `    command: ${JSON.stringify(process.execPath)}`,
        `    args: [${JSON.stringify(FIXTURE_SERVER)}]`,
        "",
      ].join("\n"),
    );
    const check = await warden(["gateway", "--config", config, "--check"]);
    expect(check.code, check.stderr + check.stdout).toBe(0);

    const client = new Client({ name: "install-test", version: "1.0.0" });
    const transport = new StdioClientTransport({
      command: bin,
      args: ["gateway", "--config", config],
      cwd: home,
      env: { PATH: process.env.PATH ?? "", HOME: home },
      stderr: "pipe",
    });
    await client.connect(transport);
    try {
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name)).toContain("echo");
      expect(tools.tools.map((t) => t.name)).not.toContain("add");

      const ok = await client.callTool({ name: "echo", arguments: { text: "hello" } });
      expect(ok.isError ?? false).toBe(false);
      expect(ok.content).toEqual([{ type: "text", text: "hello" }]);

      const denied = await client
        .callTool({ name: "add", arguments: { a: 1, b: 2 } })
        .catch((e) => e);
      expect(denied).toBeInstanceOf(Error);
      expect((denied as { code?: number }).code).toBe(-32003);
      expect(String((denied as Error).message)).toContain("mcp.tools.deny[0]");
    } finally {
      await client.close();
    }
    const audit = readFileSync(join(work, "audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit.some((l) => JSON.stringify(l).includes("echo"))).toBe(true);
    expect(audit.some((l) => JSON.stringify(l).includes("mcp.tools.deny[0]"))).toBe(true);

    // The installed `warden audit` reads it back as a table: the denied call with its rule.
    const shown = await warden(["audit", join(work, "audit.jsonl"), "--verdict", "deny"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/deny .*tools\/call add .*mcp\.tools\.deny\[0\]/);
    expect(shown.stdout).not.toContain("echo");
  });
});
