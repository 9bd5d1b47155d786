/**
 * The real `warden` (dist/cli/main.js): `warden admin --config` serves the API without a
 * gateway (token from the auth section, plugins kept under state.dir across a restart), and
 * `warden gateway` with `admin:` serves it beside the gateway, one /metrics for both.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CLI } from "../cli/helpers.js";
import { POLICY, registerForm, spamPlugin, tempDir } from "./helpers.js";

const running: ChildProcess[] = [];
afterEach(() => {
  for (const c of running.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

/** Start warden with args; resolves with the child and the admin URL it prints. */
function start(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "ignore", "pipe"],
  });
  running.push(child);
  let err = "";
  return new Promise((res, rej) => {
    child.stderr!.on("data", (b: Buffer) => {
      err += b.toString();
      const m = /(?:listening on|admin API on) (http:\/\/[^\s]+)/.exec(
        err
          .split("\n")
          .filter((l) => l.includes("admin"))
          .join("\n"),
      );
      if (m) res({ child, url: m[1]! });
    });
    child.on("exit", (code) => rej(new Error(`warden exited ${code}: ${err}`)));
  });
}

const exited = (c: ChildProcess) =>
  new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.on("exit", r)));

describe("warden admin", () => {
  it("serves the API with the auth section's token, keeps plugins across a restart, stops on SIGTERM", async () => {
    const dir = tempDir();
    const cfg = join(dir, "warden.yaml");
    writeFileSync(
      cfg,
      `policy: ${POLICY}\nupstreams:\n  - { name: x, command: node }\nauth:\n  tokens: [{ name: ops, env: ADMIN_TOKEN }]\nadmin:\n  listen: { port: 0 }\nwasm: { enabled: true }\nstate: { dir: ./state }\n`,
    );
    const env = { ADMIN_TOKEN: "t0ken" };
    const a = await start(["admin", "--config", cfg], env);
    const auth = { authorization: "Bearer t0ken" };
    expect((await fetch(`${a.url}/v1/wasm/plugins`)).status).toBe(401);
    const reg = await fetch(`${a.url}/v1/wasm/plugins`, {
      method: "POST",
      headers: auth,
      body: registerForm({ name: "spam" }, await spamPlugin()),
    });
    expect(reg.status).toBe(201);
    const tested = await fetch(`${a.url}/v1/wasm/plugins/spam/test`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ input: { action_type: "x" } }),
    });
    expect(tested.status).toBe(200);
    a.child.kill("SIGTERM");
    expect(await exited(a.child)).toBe(0);

    const b = await start(["admin", "--config", cfg], env);
    const list = (await (await fetch(`${b.url}/v1/wasm/plugins`, { headers: auth })).json()) as {
      count: number;
      plugins: { invocation_count: number; last_invoked_at: string | null }[];
    };
    expect(list.count).toBe(1);
    // the counters were written on SIGTERM and read back
    expect(list.plugins[0]).toMatchObject({ invocation_count: 1 });
    expect(list.plugins[0]!.last_invoked_at).not.toBeNull();
    b.child.kill("SIGTERM");
    expect(await exited(b.child)).toBe(0);
  }, 60_000);

  it("refuses to start beyond loopback without TLS and tokens (exit 2, located)", async () => {
    const dir = tempDir();
    const cfg = join(dir, "warden.yaml");
    writeFileSync(
      cfg,
      `policy: ${POLICY}\nupstreams:\n  - { name: x, command: node }\nadmin:\n  listen: { host: 0.0.0.0, port: 0 }\n`,
    );
    const child = spawn(process.execPath, [CLI, "admin", "--config", cfg], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    running.push(child);
    let err = "";
    child.stderr!.on("data", (b: Buffer) => (err += b));
    expect(await exited(child)).toBe(2);
    expect(err).toMatch(
      /warden\.yaml:5:\d+ admin\.listen\.host: .*TLS \(admin\.listen\.tls\) and tokens/,
    );
  }, 30_000);
});

describe("warden gateway with admin:", () => {
  it("serves the admin API beside the gateway, one /metrics with the gateway's and the plugins' series", async () => {
    const dir = tempDir();
    const cfg = join(dir, "warden.yaml");
    const server = resolve("test/fixtures/mcp-server/server.mjs");
    writeFileSync(
      cfg,
      `policy: ${POLICY}\nlisten: { http: { port: 0 } }\ntelemetry: { metrics: true }\nupstreams:\n  - { name: calc, command: ${process.execPath}, args: [${server}] }\nadmin:\n  listen: { port: 0 }\nwasm: { enabled: true }\nstate: { dir: ./state }\n`,
    );
    const g = await start(["gateway", "--config", cfg, "--no-watch"], {});
    const text = await (await fetch(`${g.url}/metrics`)).text();
    expect(text).toContain("# TYPE wasm_plugins_registered gauge");
    expect(text).toContain("# TYPE warden_mcp_decisions_total counter");
    const check = await fetch(`${g.url}/v1/check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action: { kind: "tool.call", name: "system_exec" } }),
    });
    expect(await check.json()).toMatchObject({ allowed: false, decision: "deny" });
    g.child.kill("SIGTERM");
    await exited(g.child);
  }, 60_000);
});
