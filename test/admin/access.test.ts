/**
 * Who may call the admin API: tokens of the `auth` section (401 without), Host and Origin
 * (403: DNS rebinding, cross-site), /healthz public, and a listener beyond loopback without TLS
 * and tokens refused at start, both by the config check and by the server itself.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkListen } from "../../src/admin/index.js";
import { parseConfig } from "../../src/mcp/config.js";
import { type Running, registerForm, spamPlugin, startAdmin } from "./helpers.js";

let admin: Running;
const TOKEN = "s3cret-admin-token";

beforeAll(async () => {
  admin = await startAdmin({ tokens: [{ name: "ops", secret: TOKEN }] });
});
afterAll(() => admin.close());

const auth = { authorization: `Bearer ${TOKEN}` };

/** A raw request with the headers given as is (fetch would not send a foreign Host). */
function raw(path: string, headers: Record<string, string>, method = "GET") {
  const u = new URL(admin.url);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      let body = "";
      res.on("data", (b: Buffer) => (body += b));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("tokens", () => {
  it("refuses every route but /healthz without the token (401), a wrong one too", async () => {
    for (const [method, path] of [
      ["GET", "/v1/wasm/plugins"],
      ["GET", "/v1/wasm/plugins/x"],
      ["DELETE", "/v1/wasm/plugins/x"],
      ["POST", "/v1/check"],
      ["GET", "/v1/policy"],
      ["GET", "/metrics"],
      ["GET", "/no/such/route"],
    ] as const) {
      const none = await fetch(`${admin.url}${path}`, { method });
      expect(none.status, `${method} ${path}`).toBe(401);
      expect(await none.json()).toMatchObject({ code: "admin_unauthorized" });
      const wrong = await fetch(`${admin.url}${path}`, {
        method,
        headers: { authorization: "Bearer nope" },
      });
      expect(wrong.status).toBe(401);
    }
    expect((await fetch(`${admin.url}/healthz`)).status).toBe(200);
  });

  it("refuses an upload without the token before reading it", async () => {
    const res = await fetch(`${admin.url}/v1/wasm/plugins`, {
      method: "POST",
      body: registerForm({ name: "sneaky" }, await spamPlugin()),
    });
    expect(res.status).toBe(401);
    expect(admin.registry.has("sneaky")).toBe(false);
  });

  it("answers with the token; the caller is the token's name", async () => {
    const res = await fetch(`${admin.url}/v1/check`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({
        action: { kind: "tool.call", name: "calculator/add", arguments: {} },
      }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ allowed: true, decision: "allow" });
  });
});

describe("Host and Origin", () => {
  it("refuses a foreign Host (DNS rebinding) with 403, even with the token and on /healthz", async () => {
    const r = await raw("/v1/wasm/plugins", { host: "evil.example:8932", ...auth });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toMatchObject({ code: "admin_forbidden" });
    expect((await raw("/healthz", { host: "evil.example" })).status).toBe(403);
    expect((await raw("/healthz", { host: "localhost:1" })).status).toBe(200);
  });

  it("refuses a cross-site Origin with 403 and accepts its own", async () => {
    const u = new URL(admin.url);
    const evil = await raw("/v1/wasm/plugins", {
      host: u.host,
      origin: "http://evil.example",
      ...auth,
    });
    expect(evil.status).toBe(403);
    const other = await raw("/v1/wasm/plugins", {
      host: u.host,
      origin: "http://127.0.0.1:1",
      ...auth,
    });
    expect(other.status).toBe(403);
    const own = await raw("/v1/wasm/plugins", { host: u.host, origin: admin.url, ...auth });
    expect(own.status).toBe(200);
  });
});

describe("beyond loopback", () => {
  it("the server refuses to start beyond loopback without TLS and tokens", () => {
    expect(() => checkListen({ host: "0.0.0.0", port: 0 }, [])).toThrow(/insecure|TLS/);
    expect(() => checkListen({ host: "0.0.0.0", port: 0 }, [{ name: "a", secret: "b" }])).toThrow(
      /TLS \(admin.listen.tls\)/,
    );
    expect(() =>
      checkListen({ host: "0.0.0.0", port: 0, tls: { cert: "c", key: "k" } }, []),
    ).toThrow(/tokens \(auth.tokens\)/);
    expect(() =>
      checkListen({ host: "0.0.0.0", port: 0, tls: { cert: "c", key: "k" } }, [
        { name: "a", secret: "b" },
      ]),
    ).not.toThrow();
    expect(() => checkListen({ host: "0.0.0.0", port: 0, allowInsecure: true }, [])).not.toThrow();
    expect(() => checkListen({ host: "127.0.0.1", port: 0 }, [])).not.toThrow();
  });

  it("warden.yaml with admin.listen.host beyond loopback and no TLS/tokens is refused, located", () => {
    const text =
      "policy: p.yaml\nupstreams:\n  - { name: a, command: node }\nadmin:\n  listen: { host: 0.0.0.0, port: 9000 }\n";
    const r = parseConfig(text, "/tmp/warden.yaml");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([
      expect.objectContaining({ code: "insecure_listen", key: "admin.listen.host", line: 5 }),
    ]);
  });

  it("warden.yaml reads admin and wasm with their defaults; unknown keys are refused", () => {
    const ok = parseConfig(
      "policy: p.yaml\nupstreams:\n  - { name: a, command: node }\nadmin: { listen: { port: 0 } }\nwasm: { enabled: true, plugin_dir: ./plugins }\n",
      "/tmp/w/warden.yaml",
    );
    expect(ok.ok).toBe(true);
    if (!ok.ok) return;
    expect(ok.config.admin).toEqual({
      listen: { host: "127.0.0.1", port: 0, allowedHosts: [], allowInsecure: false },
    });
    expect(ok.config.wasm).toEqual({
      enabled: true,
      pluginDir: "/tmp/w/plugins",
      defaultMemoryLimitBytes: 16777216,
      defaultTimeoutMs: 100,
    });
    const bad = parseConfig(
      "policy: p.yaml\nupstreams:\n  - { name: a, command: node }\nwasm: { enabled: true, default_timeout_ms: 40000, colour: red }\n",
      "/tmp/w/warden.yaml",
    );
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.errors.map((e) => e.key).sort()).toEqual(
      ["wasm.colour", "wasm.default_timeout_ms"].sort(),
    );
  });
});
