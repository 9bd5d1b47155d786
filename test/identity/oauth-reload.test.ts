// Identity's leftovers (issue 24): a hot reload puts a new `auth` in force at once (a removed
// token stops working, sessions it no longer vouches for end) or is refused saying why; /readyz's
// details are given to a valid access token too, with the issuer's keys' state and no secret;
// with caller_includes_client_name, `user:` rules match who authenticated, never the client's
// self-chosen name.
import { writeFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/mcp/config.js";
import type { GatewayConfig, HttpListenConfig } from "../../src/mcp/config-types.js";
import type { Gateway } from "../../src/mcp/gateway.js";
import { authReload } from "../../src/mcp/gateway-auth.js";
import {
  httpClient,
  startGateway,
  stdioUpstream,
  tempDir,
  writeGatewayFiles,
} from "../mcp/helpers.js";
import { INIT, postRaw as post } from "../mcp/http-raw.js";
import { type Issuer, startIssuer } from "./issuer.js";

const AUD = "https://gw.test/mcp";
const POLICY = `version: "1.0"\nmcp:\n  transport: { http: true, stdio: true }\n  tools: { allow: ["*"] }\n`;
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

function config(auth: string, extra = "") {
  return `listen: { http: { port: 0 } }
${auth}${extra}policy: ./policy.yaml
upstreams:
${stdioUpstream("fx")}`;
}
const oauthOf = (issuer: Issuer) => `  oauth:
    issuer: ${issuer.url}
    audience: ${AUD}
    jwks_uri: ${issuer.jwksUrl}
`;

describe("auth on a hot reload", () => {
  let issuer: Issuer;
  let other: Issuer;
  let gw: Gateway | undefined;
  beforeAll(async () => {
    process.env.WARDEN_T_A = "secret-a";
    process.env.WARDEN_T_B = "secret-b";
    delete process.env.WARDEN_T_UNSET;
    issuer = await startIssuer(AUD);
    other = await startIssuer(AUD);
  });
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });
  afterAll(async () => {
    await issuer?.close();
    await other?.close();
  });

  async function start(auth: string) {
    const dir = tempDir();
    const file = writeGatewayFiles(dir, config(auth), POLICY);
    const s = await startGateway(file);
    gw = s.gw;
    const reload = (next: string) => {
      writeFileSync(file, config(next));
      return s.gw.reload();
    };
    return { ...s, reload };
  }
  const sessionOf = (r: Response) => r.headers.get("mcp-session-id") ?? "";
  const ping = (url: string, token: string, sid: string) =>
    post(url, JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }), {
      ...bearer(token),
      "mcp-session-id": sid,
      "mcp-protocol-version": "2025-06-18",
    });

  it("a token removed from auth.tokens stops working at once and its sessions end; the others go on", async () => {
    const { url, reload } = await start(
      "auth:\n  tokens: [{ name: a, env: WARDEN_T_A }, { name: b, env: WARDEN_T_B }]\n",
    );
    const a = await post(url, INIT, bearer("secret-a"));
    const b = await post(url, INIT, bearer("secret-b"));
    expect([a.status, b.status]).toEqual([200, 200]);
    const r = reload("auth:\n  tokens: [{ name: b, env: WARDEN_T_B }]\n");
    expect(r.ok).toBe(true);
    expect((await post(url, INIT, bearer("secret-a"))).status).toBe(401);
    expect((await ping(url, "secret-a", sessionOf(a))).status).toBe(401);
    expect([...(gw as Gateway).sessions].map((s) => s.caller)).toEqual(["b"]);
    expect((await ping(url, "secret-b", sessionOf(b))).status).toBe(200);
  });

  it("auth.oauth added by a reload takes access tokens from then on", async () => {
    const { url, reload } = await start("auth:\n  tokens: [{ name: a, env: WARDEN_T_A }]\n");
    const token = await issuer.sign({ sub: "alice" });
    expect((await post(url, INIT, bearer(token))).status).toBe(401);
    expect(reload(`auth:\n  tokens: [{ name: a, env: WARDEN_T_A }]\n${oauthOf(issuer)}`).ok).toBe(
      true,
    );
    expect((await post(url, INIT, bearer(token))).status).toBe(200);
  });

  it("another issuer: the old issuer's tokens are refused and its callers' sessions end", async () => {
    const { url, reload } = await start(`auth:\n${oauthOf(issuer)}`);
    const old = await issuer.sign({ sub: "alice" });
    const s = await post(url, INIT, bearer(old));
    expect(s.status).toBe(200);
    expect(reload(`auth:\n${oauthOf(other)}`).ok).toBe(true);
    expect((gw as Gateway).sessions.size).toBe(0);
    // "alice" at the new issuer is someone else: she does not get the old alice's session
    const fresh = await other.sign({ sub: "alice" });
    expect((await ping(url, fresh, sessionOf(s))).status).toBe(404);
    expect((await post(url, INIT, bearer(old))).status).toBe(401);
    expect((await post(url, INIT, bearer(fresh))).status).toBe(200);
  });

  it("a token whose variable is not set refuses the reload, naming the file and token; the auth in force stays", async () => {
    const { url, reload } = await start("auth:\n  tokens: [{ name: a, env: WARDEN_T_A }]\n");
    const r = reload("auth:\n  tokens: [{ name: n, env: WARDEN_T_UNSET }]\n");
    expect(r.ok).toBe(false);
    expect(r.errors.join("\n")).toMatch(
      /warden\.yaml: token "n" of auth\.tokens .*WARDEN_T_UNSET.*refused/,
    );
    expect((await post(url, INIT, bearer("secret-a"))).status).toBe(200);
    expect((gw as Gateway).config.auth?.tokens.map((t) => t.name)).toEqual(["a"]);
  });

  it("removing every token while listening beyond loopback is refused (listen is read at start)", () => {
    const dir = tempDir();
    const prev = loadConfig(
      writeGatewayFiles(dir, config("auth:\n  tokens: [{ name: a, env: WARDEN_T_A }]\n"), POLICY),
    ) as GatewayConfig;
    const next = loadConfig(writeGatewayFiles(dir, config(""), POLICY)) as GatewayConfig;
    const running = { ...(prev.listen as HttpListenConfig), host: "0.0.0.0" };
    const r = authReload(prev, next, running);
    expect(r.ok).toBe(false);
    expect(r.ok ? "" : r.errors.join("")).toMatch(
      /no tokens and no auth\.oauth.*0\.0\.0\.0.*refused/,
    );
    expect(authReload(prev, next, prev.listen as HttpListenConfig).ok).toBe(true);
  });
});

describe("/readyz details for an access token", () => {
  let issuer: Issuer;
  let gw: Gateway;
  let base: string;
  beforeAll(async () => {
    issuer = await startIssuer(AUD);
    const file = writeGatewayFiles(
      tempDir(),
      config(`auth:\n${oauthOf(issuer)}    jwks_cooldown_seconds: 0\n`),
      POLICY,
    );
    const s = await startGateway(file);
    gw = s.gw;
    base = s.url.replace(/\/mcp$/, "");
  });
  afterAll(async () => {
    await gw?.stop();
    await issuer?.close();
  });

  it("a valid access token hears the upstreams and the issuer's keys' state; no token, or a bad one, only the status", async () => {
    const token = await issuer.sign({ sub: "ops" });
    expect((await post(`${base}/mcp`, INIT, bearer(token))).status).toBe(200);
    const full = (await (await fetch(`${base}/readyz`, { headers: bearer(token) })).json()) as {
      upstreams?: unknown[];
      auth?: { oauth?: Record<string, unknown> };
    };
    expect(full.upstreams?.length).toBe(1);
    expect(full.auth?.oauth).toMatchObject({ jwks: "uri", issuer: "reachable" });
    expect(full.auth?.oauth?.jwks_age_seconds).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(full)).not.toContain(issuer.url.replace(/^http:\/\//, ""));
    for (const h of [{}, bearer(`${token.slice(0, -4)}AAAA`)]) {
      const bare = await (await fetch(`${base}/readyz`, { headers: h })).json();
      expect(Object.keys(bare as object)).toEqual(["status"]);
    }
  });

  it("says when the issuer could not be reached at the last fetch (the cached keys still serve)", async () => {
    const token = await issuer.sign({ sub: "ops" });
    issuer.up = false;
    // an unknown kid makes the gateway fetch the keys again (jwks_cooldown_seconds: 0)
    const r = await post(
      `${base}/mcp`,
      INIT,
      bearer(await issuer.sign({ sub: "x" }, { kid: "new" })),
    );
    expect(r.status).toBe(503);
    const full = (await (await fetch(`${base}/readyz`, { headers: bearer(token) })).json()) as {
      auth?: { oauth?: Record<string, unknown> };
    };
    issuer.up = true;
    expect(full.auth?.oauth).toMatchObject({ jwks: "uri", issuer: "unreachable" });
  });
});

describe("caller_includes_client_name and user: rules", () => {
  let issuer: Issuer;
  let gw: Gateway;
  let url: string;
  beforeAll(async () => {
    issuer = await startIssuer(AUD);
    const policy = `version: "1.0"
mcp:
  transport: { http: true, stdio: true }
  tools:
    allow:
      - name: "echo"
        callers: ["user:alice"]
      - name: "add"
        callers: ["user:bob/gateway-test"]
`;
    const file = writeGatewayFiles(
      tempDir(),
      config(`auth:\n${oauthOf(issuer)}`, "caller_includes_client_name: true\n"),
      policy,
    );
    ({ gw, url } = await startGateway(file));
  });
  afterAll(async () => {
    await gw?.stop();
    await issuer?.close();
  });

  it("user:alice matches alice whatever her client is called; rate limits and the audit keep the client's name", async () => {
    const c = await httpClient(url, undefined, bearer(await issuer.sign({ sub: "alice" })));
    const r = await c.callTool({ name: "echo", arguments: { text: "hi" } });
    expect(r.isError).not.toBe(true);
    expect([...gw.sessions].map((s) => s.caller)).toContain("alice/gateway-test");
    await c.close();
  });

  it("the client's self-chosen name grants nothing: user:bob/gateway-test does not match bob", async () => {
    const c = await httpClient(url, undefined, bearer(await issuer.sign({ sub: "bob" })));
    expect((await c.listTools()).tools.map((t) => t.name)).toEqual([]);
    const r = await c.callTool({ name: "add", arguments: { a: 1, b: 2 } }).catch((e: Error) => e);
    expect(String((r as Error).message)).toMatch(/caller "bob\/gateway-test" \(user "bob"\)/);
    await c.close();
  });
});
