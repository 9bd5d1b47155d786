// The gateway as an OAuth resource server (issue 24, Identity): access tokens checked against a
// real issuer started here (JWKS over HTTP, keys signed with jose). Every bad token of the
// issue is refused with 401 and a WWW-Authenticate pointing at the protected resource metadata.
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/mcp/gateway.js";
import { startGateway, stdioUpstream, tempDir, writeGatewayFiles } from "../mcp/helpers.js";
import { INIT, postRaw as post } from "../mcp/http-raw.js";
import { type Issuer, startIssuer } from "./issuer.js";

const AUD = "https://gw.test/mcp";
const META = "https://gw.test/.well-known/oauth-protected-resource/mcp";
const POLICY = `version: "1.0"\nmcp:\n  transport: { http: true, stdio: true }\n  tools: { allow: ["*"] }\n`;

function config(issuer: Issuer, extra = "") {
  return `listen: { http: { port: 0 } }
auth:
  tokens: [{ name: ci, env: WARDEN_T_CI }]
  oauth:
    issuer: ${issuer.url}
    audience: ${AUD}
    jwks_uri: ${issuer.jwksUrl}
    required_scopes: [mcp]
${extra}policy: ./policy.yaml
upstreams:
${stdioUpstream("fx")}`;
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
async function refusal(r: Response) {
  const body = (await r.json()) as { error: { message: string; data?: { warden?: string } } };
  return {
    status: r.status,
    www: r.headers.get("www-authenticate") ?? "",
    message: body.error.message,
    code: body.error.data?.warden,
  };
}

describe("OAuth access tokens at the HTTP front", () => {
  let issuer: Issuer;
  let gw: Gateway;
  let url: string;
  let base: string;
  beforeAll(async () => {
    process.env.WARDEN_T_CI = "ci-secret";
    issuer = await startIssuer(AUD);
    // jwks_cooldown_seconds: 0, so that each unknown kid fetches the keys again (rotation)
    const cfg = writeGatewayFiles(
      tempDir(),
      config(issuer, "    jwks_cooldown_seconds: 0\n"),
      POLICY,
    );
    ({ gw, url } = await startGateway(cfg));
    base = url.replace(/\/mcp$/, "");
  });
  afterAll(async () => {
    await gw?.stop();
    await issuer?.close();
  });

  it("a request without a token gets 401 naming the resource metadata (no error code)", async () => {
    const r = await refusal(await post(url, INIT));
    expect(r.status).toBe(401);
    expect(r.www).toBe(`Bearer resource_metadata="${META}"`);
  });

  it("serves the protected resource metadata (RFC 9728) at both well-known paths", async () => {
    for (const path of [
      "/.well-known/oauth-protected-resource/mcp",
      "/.well-known/oauth-protected-resource",
    ]) {
      const r = await fetch(`${base}${path}`);
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({
        resource: AUD,
        authorization_servers: [issuer.url],
        scopes_supported: ["mcp"],
        bearer_methods_supported: ["header"],
      });
    }
  });

  it("a valid token opens a session whose caller is the token's subject", async () => {
    const r = await post(url, INIT, bearer(await issuer.sign({ sub: "alice" })));
    expect(r.status).toBe(200);
    expect([...gw.sessions].map((s) => s.caller)).toContain("alice");
    // the static token still works beside OAuth
    expect((await post(url, INIT, bearer("ci-secret"))).status).toBe(200);
  });

  const now = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => Promise<string>, RegExp][] = [
    ["expired", () => issuer.sign({ sub: "a", exp: now() - 3600 }), /expired/],
    [
      "for another resource",
      () => issuer.sign({ sub: "a", aud: "https://other.test/mcp" }),
      /not for this gateway/,
    ],
    [
      "from another issuer",
      () => issuer.sign({ sub: "a", iss: "https://evil.test" }),
      /not issued by/,
    ],
    [
      "alg none",
      async () => {
        const t = (await issuer.sign({ sub: "a" })).split(".");
        const head = Buffer.from(JSON.stringify({ alg: "none", kid: issuer.kid })).toString(
          "base64url",
        );
        return `${head}.${t[1]}.`;
      },
      /algorithm|malformed/,
    ],
    [
      "tampered (payload changed, signature kept)",
      async () => {
        const [h, p, s] = (await issuer.sign({ sub: "bob" })).split(".");
        const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
        const forged = Buffer.from(JSON.stringify({ ...claims, sub: "admin" })).toString(
          "base64url",
        );
        return `${h}.${forged}.${s}`;
      },
      /signature/,
    ],
    [
      "HS256 signed with the issuer's public key (key confusion)",
      () =>
        new SignJWT({ sub: "a", scope: "mcp" })
          .setProtectedHeader({ alg: "HS256", kid: issuer.kid })
          .setIssuer(issuer.url)
          .setAudience(AUD)
          .setExpirationTime(now() + 600)
          .sign(new TextEncoder().encode(JSON.stringify(issuer.publicJwk()))),
      /algorithm/,
    ],
    ["without a subject", () => issuer.sign({ sub: undefined }), /subject_claim/],
  ];
  for (const [what, make, why] of cases)
    it(`refuses a token ${what}: 401 invalid_token`, async () => {
      const r = await refusal(await post(url, INIT, bearer(await make())));
      expect(r.status).toBe(401);
      expect(r.code).toBe("token_invalid");
      expect(r.www).toContain(`resource_metadata="${META}"`);
      expect(r.www).toContain('error="invalid_token"');
      expect(r.message).toMatch(why);
    });

  it("refuses a token whose subject is also a static token's name (one identity per caller)", async () => {
    const r = await refusal(await post(url, INIT, bearer(await issuer.sign({ sub: "ci" }))));
    expect(r.status).toBe(401);
    expect(r.message).toMatch(/static token/);
  });

  it("a token without a required scope gets 403 insufficient_scope naming the scope", async () => {
    const r = await refusal(
      await post(url, INIT, bearer(await issuer.sign({ sub: "a", scope: "other" }))),
    );
    expect(r.status).toBe(403);
    expect(r.code).toBe("insufficient_scope");
    expect(r.www).toContain('error="insufficient_scope"');
    expect(r.www).toContain('scope="mcp"');
  });

  it("an unknown kid fetches the keys once more, and is refused when they do not have it", async () => {
    const before = issuer.jwksFetches;
    const r = await refusal(
      await post(url, INIT, bearer(await issuer.sign({ sub: "a" }, { kid: "nope" }))),
    );
    expect(r.status).toBe(401);
    expect(r.message).toMatch(/no key/);
    expect(issuer.jwksFetches).toBe(before + 1);
  });

  it("follows a key rotation: the new kid triggers one refresh, then tokens of the new key pass", async () => {
    await issuer.rotate();
    const before = issuer.jwksFetches;
    const t = await issuer.sign({ sub: "carol" });
    expect((await post(url, INIT, bearer(t))).status).toBe(200);
    expect(issuer.jwksFetches).toBe(before + 1);
    expect((await post(url, INIT, bearer(await issuer.sign({ sub: "dave" })))).status).toBe(200);
    expect(issuer.jwksFetches).toBe(before + 1);
  });
});

describe("OAuth: the issuer's keys fetched at a bounded rate, and the issuer down", () => {
  let issuer: Issuer;
  let gw: Gateway;
  let url: string;
  beforeAll(async () => {
    process.env.WARDEN_T_CI = "ci-secret";
    issuer = await startIssuer(AUD);
    const cfg = writeGatewayFiles(tempDir(), config(issuer), POLICY);
    ({ gw, url } = await startGateway(cfg));
  });
  afterAll(async () => {
    await gw?.stop();
    await issuer?.close();
  });

  it("with the issuer down, tokens are refused (503, fail closed) saying why; it recovers", async () => {
    issuer.up = false;
    const r = await refusal(await post(url, INIT, bearer(await issuer.sign({ sub: "a" }))));
    expect(r.status).toBe(503);
    expect(r.code).toBe("issuer_unavailable");
    expect(r.message).toContain(issuer.jwksUrl);
    expect(gw.sessions.size).toBe(0);
    issuer.up = true;
    expect((await post(url, INIT, bearer(await issuer.sign({ sub: "a" })))).status).toBe(200);
  });

  it("a flood of unknown kids does not flood the issuer (jwks_cooldown_seconds: 30)", async () => {
    const before = issuer.jwksFetches;
    for (let i = 0; i < 20; i++) {
      const t = await issuer.sign({ sub: "a" }, { kid: `forged-${i}` });
      expect((await post(url, INIT, bearer(t))).status).toBe(401);
    }
    expect(issuer.jwksFetches - before).toBeLessThanOrEqual(1);
  });
});
