// Who is calling, through one gateway (issue 24, Identity): the caller is the access token's
// subject, the policy's `callers` decide who sees and calls what, rate limits count per subject,
// the audit names the subject, and no upstream ever receives the client's token: an HTTP
// upstream gets its own credentials or a token exchanged for it (RFC 8693) at the issuer.
import { readFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import { type FixtureHttp, startFixtureHttp } from "../fixtures/mcp-server/http.mjs";
import {
  httpClient,
  startGateway,
  stdioUpstream,
  tempDir,
  until,
  writeGatewayFiles,
} from "../mcp/helpers.js";
import { type Issuer, startIssuer } from "./issuer.js";

const AUD = "https://gw.test/mcp";
const REMOTE = "https://remote.test/mcp";

/** A proxy in front of the fixture that records each request's path and Authorization. */
async function recordingProxy(
  target: FixtureHttp,
): Promise<{ url: string; seen: { path: string; auth: string }[]; server: Server }> {
  const seen: { path: string; auth: string }[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? "/";
    seen.push({ path, auth: req.headers.authorization ?? "" });
    const up = request(
      {
        host: "127.0.0.1",
        port: target.port,
        path: "/mcp",
        method: req.method,
        headers: { ...req.headers, host: `127.0.0.1:${target.port}` },
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const POLICY = `version: "1.0"
mcp:
  transport: { http: true, stdio: true }
  tools:
    allow:
      - name: "fx__echo"
      - name: "fx__add"
        callers: ["group:eng"]
        max_calls_per_minute: 2
      - name: "remote__*"
        callers: ["user:alice"]
      - name: "plain__echo"
`;

describe("callers from access tokens, through one gateway", () => {
  let issuer: Issuer;
  let fixture: FixtureHttp;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let gw: Gateway;
  let url: string;
  let dir: string;
  const tokens: Record<string, string> = {};
  const clients: Client[] = [];
  const as = async (who: string) => {
    const c = await httpClient(url, undefined, { authorization: `Bearer ${tokens[who]}` });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    process.env.WARDEN_T_PLAIN = "plain-upstream-secret";
    process.env.WARDEN_T_CLIENT_SECRET = "gateway-client-secret";
    issuer = await startIssuer(AUD);
    fixture = await startFixtureHttp();
    proxy = await recordingProxy(fixture);
    dir = tempDir();
    const cfg = writeGatewayFiles(
      dir,
      `listen: { http: { port: 0 } }
auth:
  oauth:
    issuer: ${issuer.url}
    audience: ${AUD}
    jwks_uri: ${issuer.jwksUrl}
    required_scopes: [mcp]
    token_endpoint: ${issuer.tokenUrl}
    client_id: warden
    client_secret_env: WARDEN_T_CLIENT_SECRET
audit: { file: ./audit.jsonl }
policy: ./policy.yaml
upstreams:
${stdioUpstream("fx")}  - name: remote
    url: ${proxy.url}/remote/mcp
    token_exchange: { resource: ${REMOTE}, scopes: [remote.read] }
  - name: plain
    url: ${proxy.url}/plain/mcp
    bearer_env: WARDEN_T_PLAIN
`,
      POLICY,
    );
    ({ gw, url } = await startGateway(cfg));
    tokens.alice = await issuer.sign({ sub: "alice", groups: ["eng"] });
    tokens.bob = await issuer.sign({ sub: "bob", groups: ["sales"] });
    tokens.carol = await issuer.sign({ sub: "carol", groups: "eng" });
  });
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => {});
    await gw?.stop();
    await new Promise<void>((r) => proxy?.server.close(() => r()));
    await fixture?.close();
    await issuer?.close();
  });

  it("two users see different tools/list results", async () => {
    const names = async (who: string) =>
      (await (await as(who)).listTools()).tools
        .map((t) => t.name)
        .filter((n) => !n.startsWith("plain"))
        .sort();
    const alice = await names("alice");
    expect(alice).toContain("fx__add");
    expect(alice).toContain("remote__echo");
    expect(await names("bob")).toEqual(["fx__echo"]);
  });

  it("a call outside the caller's rights is denied, saying who and which callers", async () => {
    const bob = await as("bob");
    const r = await bob
      .callTool({ name: "fx__add", arguments: { a: 1, b: 2 } })
      .catch((e: Error) => e);
    expect(String((r as Error).message)).toMatch(
      /caller "bob" \(groups: sales; scopes: mcp\) is not among callers \[group:eng\]/,
    );
    const ok = await bob.callTool({ name: "fx__echo", arguments: { text: "hi" } });
    expect(ok.isError).not.toBe(true);
  });

  it("rate limits count per subject", async () => {
    const alice = await as("alice");
    for (let i = 0; i < 2; i++)
      await alice.callTool({ name: "fx__add", arguments: { a: i, b: 1 } });
    const over = await alice
      .callTool({ name: "fx__add", arguments: { a: 9, b: 9 } })
      .catch((e: Error) => e);
    expect(String((over as Error).message)).toMatch(/rate|over 2 times.*"alice"/);
    // carol (also eng) has a window of her own
    const carol = await as("carol");
    const r = await carol.callTool({ name: "fx__add", arguments: { a: 1, b: 1 } });
    expect(r.isError).not.toBe(true);
  });

  it("no upstream receives a client's token; the exchanged one is for the upstream only", async () => {
    const alice = await as("alice");
    const r = await alice.callTool({ name: "remote__echo", arguments: { text: "x" } });
    expect(r.isError).not.toBe(true);
    const clientTokens = Object.values(tokens).map((t) => `Bearer ${t}`);
    expect(proxy.seen.length).toBeGreaterThan(0);
    for (const s of proxy.seen) expect(clientTokens).not.toContain(s.auth);
    for (const s of proxy.seen.filter((x) => x.path.startsWith("/plain")))
      expect(s.auth).toBe("Bearer plain-upstream-secret");
    const remote = proxy.seen.filter((x) => x.path.startsWith("/remote"));
    expect(remote.length).toBeGreaterThan(0);
    for (const s of remote) {
      const claims = decodeJwt(s.auth.replace(/^Bearer /, ""));
      expect(claims.aud).toBe(REMOTE);
      expect(["alice", "bob", "carol"]).toContain(claims.sub);
    }
    const asked = issuer.exchanges.find((f) => f.get("subject_token") === tokens.alice);
    expect(asked?.get("resource")).toBe(REMOTE);
    expect(asked?.get("scope")).toBe("remote.read");
    expect(asked?.get("subject_token_type")).toBe("urn:ietf:params:oauth:token-type:access_token");
    // one exchange per client token and upstream, however many sessions (cached until expiry)
    expect(issuer.exchanges.filter((f) => f.get("subject_token") === tokens.alice).length).toBe(1);
  });

  it("an exchanged token is exchanged again before it expires, and the new one is sent", async () => {
    issuer.exchangeExpiresIn = 31; // renewed 30 s before expiry: after about 1 s
    tokens.dave = await issuer.sign({ sub: "dave", groups: ["eng"] });
    const dave = await as("dave");
    const seen = () =>
      new Set(
        proxy.seen
          .filter((s) => s.path.startsWith("/remote") && decodeJwt(s.auth.slice(7)).sub === "dave")
          .map((s) => s.auth),
      );
    await until(
      async () => {
        await dave.listTools();
        await dave.ping();
        return seen().size >= 2;
      },
      20_000,
      "a renewed token upstream",
    );
    expect(
      issuer.exchanges.filter((f) => f.get("subject_token") === tokens.dave).length,
    ).toBeGreaterThanOrEqual(2);
  });

  it("every audit line of a judged call names the subject", async () => {
    const file = join(dir, "audit.jsonl");
    await until(() => {
      try {
        return readFileSync(file, "utf8").includes('"caller":"carol"');
      } catch {
        return false;
      }
    });
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { caller?: string; method?: string; target?: string });
    const calls = lines.filter((l) => l.method === "tools/call");
    expect(calls.length).toBeGreaterThan(0);
    for (const l of calls) expect(["alice", "bob", "carol"]).toContain(l.caller);
    expect(calls.some((l) => l.caller === "bob")).toBe(true);
  });
});
