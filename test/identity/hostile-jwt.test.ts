// Attacker tests against OAuth access tokens at a real gateway's HTTP front, with a real issuer
// (a JWKS on loopback) and an attacker's own JWKS server: header tricks (jku, x5u, jwk, kid
// paths, crit, nested JWTs), audience arrays, and remembered tokens past their exp. Each test
// pins a defence.
import { sign as cryptoSign, KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JwtVerifier, keySource, type OAuthSettings } from "../../src/identity/index.js";
import type { Gateway } from "../../src/mcp/gateway.js";
import { startGateway, stdioUpstream, tempDir, writeGatewayFiles } from "../mcp/helpers.js";
import { INIT, postRaw as post } from "../mcp/http-raw.js";

const AUD = "https://gw.test/mcp";
const POLICY = `version: "1.0"\nmcp:\n  transport: { http: true, stdio: true }\n  tools: { allow: ["*"] }\n`;
type Pair = Awaited<ReturnType<typeof generateKeyPair>>;

/** A JWKS endpoint on loopback serving `keys`, counting its fetches. */
async function jwksServer(keys: () => JWK[]) {
  const s = { fetches: 0, url: "", server: undefined as unknown as Server };
  s.server = createServer((_req, res) => {
    s.fetches++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: keys() }));
  });
  await new Promise<void>((r) => s.server.listen(0, "127.0.0.1", r));
  s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}/jwks`;
  return s;
}

let issuerKey: Pair;
let issuerJwk: JWK;
let attackerKey: Pair;
let attackerJwk: JWK;
let issuer: Awaited<ReturnType<typeof jwksServer>>;
let attacker: Awaited<ReturnType<typeof jwksServer>>;
let gw: Gateway;
let url: string;
const ISS = "https://idp.test";
const now = () => Math.floor(Date.now() / 1000);

function token(
  header: Record<string, unknown>,
  claims: Record<string, unknown> = {},
  key: Pair["privateKey"] = issuerKey.privateKey,
) {
  return new SignJWT({
    sub: "mallory",
    scope: "mcp",
    iss: ISS,
    aud: AUD,
    exp: now() + 600,
    ...claims,
  })
    .setProtectedHeader({ alg: "RS256", kid: "k0", ...header } as { alg: string })
    .sign(key);
}
/** A JWS signed by hand (RS256), for headers jose will not sign (crit it does not know). */
function rawToken(header: Record<string, unknown>, claims: Record<string, unknown> = {}) {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = { sub: "mallory", scope: "mcp", iss: ISS, aud: AUD, exp: now() + 600, ...claims };
  const input = `${enc({ alg: "RS256", kid: "k0", ...header })}.${enc(body)}`;
  const key = KeyObject.from(issuerKey.privateKey as Parameters<typeof KeyObject.from>[0]);
  return `${input}.${cryptoSign("sha256", Buffer.from(input), key).toString("base64url")}`;
}
const init = (t: string) => post(url, INIT, { authorization: `Bearer ${t}` });
async function refused(t: string) {
  const r = await init(t);
  const body = (await r.json()) as { error?: { message: string; data?: { warden?: string } } };
  return { status: r.status, message: body.error?.message ?? "", code: body.error?.data?.warden };
}

beforeAll(async () => {
  issuerKey = await generateKeyPair("RS256", { extractable: true });
  issuerJwk = { ...(await exportJWK(issuerKey.publicKey)), kid: "k0", alg: "RS256", use: "sig" };
  attackerKey = await generateKeyPair("RS256", { extractable: true });
  attackerJwk = { ...(await exportJWK(attackerKey.publicKey)), kid: "k0", alg: "RS256" };
  issuer = await jwksServer(() => [issuerJwk]);
  attacker = await jwksServer(() => [attackerJwk]);
  const cfg = writeGatewayFiles(
    tempDir(),
    `listen: { http: { port: 0 } }
auth:
  oauth:
    issuer: ${ISS}
    audience: ${AUD}
    jwks_uri: ${issuer.url}
    required_scopes: [mcp]
    jwks_cooldown_seconds: 30
policy: ./policy.yaml
upstreams:
${stdioUpstream("fx")}`,
    POLICY,
  );
  ({ gw, url } = await startGateway(cfg));
}, 30_000);
afterAll(async () => {
  await gw?.stop();
  await new Promise((r) => issuer?.server.close(r));
  await new Promise((r) => attacker?.server.close(r));
});

describe("hostile JWT headers at the gateway", () => {
  it("a genuine token is accepted (the baseline the attacks differ from)", async () => {
    expect((await init(await token({}))).status).toBe(200);
  });

  for (const [what, header] of [
    ["jku", () => ({ jku: attacker.url })],
    ["x5u", () => ({ x5u: attacker.url })],
    ["jwk (embedded key)", () => ({ jwk: attackerJwk })],
  ] as const)
    it(`a token signed by the attacker's key named by ${what} is refused and the attacker's URL never fetched`, async () => {
      const r = await refused(await token(header(), {}, attackerKey.privateKey));
      expect(r.status).toBe(401);
      expect(r.code).toBe("token_invalid");
      expect(attacker.fetches).toBe(0);
    });

  it("kid path and injection tricks find no key", async () => {
    for (const kid of ["../../../../dev/null", "k0/../k0", "k0\u0000", "K0", "k0 ", "/jwks"]) {
      const r = await refused(await token({ kid }, {}, attackerKey.privateKey));
      expect(r.status).toBe(401);
    }
    // and the issuer's key under a trick kid is not taken for k0
    const r = await refused(await token({ kid: "k0\u0000" }));
    expect(r.status).toBe(401);
  });

  it("crit naming an extension nobody understands is refused, even when genuinely signed", async () => {
    expect((await init(rawToken({}))).status).toBe(200);
    for (const crit of [["warden-ext"], ["exp"], [], "warden-ext"]) {
      const r = await refused(rawToken({ crit, "warden-ext": 1 }));
      expect(r.status).toBe(401);
      expect(r.code).toBe("token_invalid");
    }
  });

  it("a nested JWT (cty JWT, the payload a token of the attacker's) is refused", async () => {
    const inner = await token({}, { sub: "admin" }, attackerKey.privateKey);
    const outer = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid: "k0", cty: "JWT" })
      .sign(issuerKey.privateKey)
      .then((t) => {
        const [h, , s] = t.split(".");
        return [h, Buffer.from(inner).toString("base64url"), s].join(".");
      });
    expect((await refused(outer)).status).toBe(401);
  });

  it("audience arrays: the gateway among others passes; without it, or nested, refused", async () => {
    expect((await init(await token({}, { aud: ["https://other.test", AUD] }))).status).toBe(200);
    for (const aud of [["https://other.test"], [[AUD]], { [AUD]: true }, `${AUD} `, `${AUD}/`, []])
      expect((await refused(await token({}, { aud }))).message).toMatch(/not for this gateway|aud/);
  });

  it("exp that is not a number, or missing, is refused", async () => {
    for (const exp of [`${now() + 600}`, null, [now() + 600], undefined])
      expect((await refused(await token({}, { exp }))).status).toBe(401);
  });
});

describe("remembered tokens (the verifier's memo)", () => {
  const settings = (): OAuthSettings => ({
    issuer: ISS,
    audience: AUD,
    requiredScopes: [],
    subjectClaim: "sub",
    groupsClaim: "groups",
    algorithms: ["RS256"],
    clockSkewSeconds: 0,
    jwksCooldownSeconds: 0,
    jwksUri: issuer.url,
    authorizationServers: [ISS],
    scopesSupported: [],
  });

  it("a remembered token is refused once its exp passed, though verified a moment before", async () => {
    const v = new JwtVerifier(settings(), keySource(settings()));
    const t0 = Date.now();
    const t = await token({}, { exp: Math.floor(t0 / 1000) + 5 });
    expect((await v.verify(t, t0)).ok).toBe(true);
    expect((await v.verify(t, t0 + 1000)).ok).toBe(true);
    const late = await v.verify(t, t0 + 6000);
    expect(late).toMatchObject({ ok: false, status: 401 });
    expect((late as { message: string }).message).toMatch(/expired/);
  });

  it("a remembered token of a key the issuer removed is refused once the keys are fetched again", async () => {
    const v = new JwtVerifier(settings(), keySource(settings()));
    const t = await token({});
    expect((await v.verify(t)).ok).toBe(true);
    const saved = issuerJwk;
    const fresh = await generateKeyPair("RS256", { extractable: true });
    issuerJwk = { ...(await exportJWK(fresh.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    try {
      // any unknown kid makes the key set fetch again (cooldown 0): k0 is gone
      await v.verify(await token({ kid: "k1" }, {}, fresh.privateKey));
      expect(await v.verify(t)).toMatchObject({ ok: false, status: 401 });
    } finally {
      issuerJwk = saved;
    }
  });
});
