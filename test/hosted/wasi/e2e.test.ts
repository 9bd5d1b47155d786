/**
 * End to end: a component (built from WAT at test time, in milliseconds) served by `warden
 * serve` through the component worker pool, called by a real SDK client over stdio. The
 * component lists its environment through wasi:cli/environment: it sees only the keys the
 * policy allows, whatever the process has (an unlisted secret does not exist for it).
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { componentEmbed, componentNew } from "@bytecodealliance/jco";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { beforeAll, describe, expect, it } from "vitest";
import wabtInit from "wabt";
import { CLI } from "../../mcp/helpers.js";
import { BUILD, CACHE } from "../build.js";

const FIXTURES = join(import.meta.dirname, "fixtures");
let component: string;
let opener: string;

async function build(name: string): Promise<string> {
  const wat = readFileSync(join(FIXTURES, `${name}.wat`), "utf8");
  const wit = readFileSync(join(FIXTURES, `${name}.wit`), "utf8");
  const key = createHash("sha256").update(wat).update(wit).digest("hex").slice(0, 16);
  const dir = join(BUILD, `wasi-${name}-${key}`);
  const out = join(dir, `${name}.wasm`);
  if (existsSync(out)) return out;
  const wabt = await wabtInit();
  const mod = wabt.parseWat(`${name}.wat`, wat);
  mod.validate();
  const core = new Uint8Array(mod.toBinary({}).buffer);
  mod.destroy();
  const component = await componentNew(
    await componentEmbed({ binary: core, witSource: wit, world: name }),
  );
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.wit`), wit);
  writeFileSync(`${out}.${process.pid}.tmp`, component);
  renameSync(`${out}.${process.pid}.tmp`, out);
  return out;
}

beforeAll(async () => {
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  component = await build("envreader");
  opener = await build("fileopener");
});

/** Serve `file` under `policy`, call `tool` once per argument set, return the results. */
async function calls(
  file: string,
  policy: string,
  tool: string,
  argSets: Record<string, unknown>[],
): Promise<unknown[]> {
  const dir = mkdtempSync(join(tmpdir(), "warden-wasi-e2e-"));
  const policyFile = join(dir, "policy.yaml");
  writeFileSync(policyFile, policy);
  const t = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, "serve", file, "--policy", policyFile, "--workers", "1"],
    env: {
      ...process.env,
      WARDEN_CACHE_DIR: CACHE,
      API_KEY: "k-1",
      MY_SECRET_TOKEN: "s3cr3t",
    } as Record<string, string>,
    stderr: "pipe",
  });
  const c = new Client({ name: "wasi-e2e", version: "1" });
  await c.connect(t);
  try {
    const out: unknown[] = [];
    for (const args of argSets) {
      const r = (await c.callTool({ name: tool, arguments: args })) as {
        structuredContent?: { result?: unknown };
      };
      out.push(r.structuredContent?.result);
    }
    return out;
  } finally {
    await c.close();
  }
}

async function count(policy: string): Promise<unknown> {
  return (await calls(component, policy, "tools.count", [{}]))[0];
}

describe("the WASI host end to end (warden serve, worker pool, SDK client)", () => {
  it("a component sees only the environment keys the policy allows", {
    timeout: 120_000,
  }, async () => {
    expect(await count('version: "1.0"\nenvironment:\n  allow:\n    - key: API_KEY\n')).toBe(1);
  });

  it("with no environment grant it sees none (the secret does not exist for it)", {
    timeout: 120_000,
  }, async () => {
    expect(await count('version: "1.0"\nnetwork:\n  allow:\n    - host: api.example.com\n')).toBe(
      0,
    );
  });
});

describe("the WASI host end to end: a hostile file tool", () => {
  it("reads in its directory; /etc/passwd, .. and a planted link out are refused with the WASI error", {
    timeout: 120_000,
  }, async () => {
    const root = realpathSync(mkdtempSync(join(tmpdir(), "warden-wasi-e2e-fs-")));
    mkdirSync(join(root, "allowed"));
    mkdirSync(join(root, "outside"));
    writeFileSync(join(root, "allowed", "data.txt"), "ok");
    writeFileSync(join(root, "outside", "secret"), "secret");
    symlinkSync("../outside/secret", join(root, "allowed", "link"));
    const policy = `version: "1.0"\nstorage:\n  allow:\n    - uri: "fs://${root}/allowed/**"\n      access: [read]\n`;
    const r = await calls(opener, policy, "tools.open", [
      { path: "data.txt" },
      { path: "missing.txt" },
      { path: "/etc/passwd" },
      { path: "../outside/secret" },
      { path: "link" },
    ]);
    // 0 opened; 100 + wasi:filesystem error-code: 120 no-entry, 131 not-permitted, 100 access.
    expect(r).toEqual([0, 120, 131, 131, 100]);
  });
});
