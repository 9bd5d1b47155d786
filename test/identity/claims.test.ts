// A token whose header the JwtVerifier knows has its claims checked by src/identity/claims.ts,
// not by jose: every verdict must be the one jose's jwtVerify gives (through the verifier's
// own jose path, forced by a header member that is not plain), refusal message included: exp
// and nbf at the clock-skew boundaries, claims of the wrong type, aud lists, payloads that are no
// JSON object, bad UTF-8, a BOM, base64url oddities.
import { KeyObject, sign } from "node:crypto";
import { createLocalJWKSet, exportJWK, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { JwtVerifier, type OAuthSettings, type Verdict } from "../../src/identity/index.js";

const ISS = "https://idp.test";
const AUD = "https://gw.test/mcp";
const NOW = 1_800_000_000_000;
const SEC = NOW / 1000;

const settings: OAuthSettings = {
  issuer: ISS,
  audience: AUD,
  requiredScopes: [],
  subjectClaim: "sub",
  groupsClaim: "groups",
  algorithms: ["ES256"],
  clockSkewSeconds: 30,
  jwksCooldownSeconds: 0,
  authorizationServers: [ISS],
  scopesSupported: [],
};

const b64 = (x: string | Buffer) => Buffer.from(x).toString("base64url");
const base = { sub: "alice", iss: ISS, aud: AUD, exp: SEC + 600 };

describe("claims.ts: a known header's claims get jose's verdict", () => {
  let priv: KeyObject;
  let v: JwtVerifier;
  const plain = b64(JSON.stringify({ alg: "ES256", kid: "k" }));
  const other = b64(JSON.stringify({ alg: "ES256", kid: "k", x5t: "not-plain" }));
  const signed = (head: string, payloadSegment: string) => {
    const input = `${head}.${payloadSegment}`;
    const sig = sign("sha256", Buffer.from(input), { key: priv, dsaEncoding: "ieee-p1363" });
    return `${input}.${b64(sig)}`;
  };

  beforeAll(async () => {
    const pair = await generateKeyPair("ES256", { extractable: true });
    priv = KeyObject.from(pair.privateKey as Parameters<typeof KeyObject.from>[0]);
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k", alg: "ES256" };
    v = new JwtVerifier(settings, { get: createLocalJWKSet({ keys: [jwk] }), where: "test" });
    // the header becomes known
    expect((await v.verify(signed(plain, b64(JSON.stringify(base))), NOW)).ok).toBe(true);
  });

  /** A verdict without the token's text (the two paths' tokens differ in their header). */
  const seen = (x: Verdict) => {
    if (!x.ok) return x;
    const { token: _, ...p } = x.principal;
    return { ok: true, principal: p };
  };
  /** The verdicts of the known-header path and of jose's path on the same payload segment. */
  async function both(segment: string) {
    const known = v.knownHeaderChecks;
    const jose = v.joseChecks;
    const fast = await v.verify(signed(plain, segment), NOW);
    expect(v.knownHeaderChecks).toBe(known + 1);
    const viaJose = await v.verify(signed(other, segment), NOW);
    expect(v.joseChecks).toBe(jose + 1);
    return { fast: seen(fast), jose: seen(viaJose) };
  }

  const claimCases: Record<string, Record<string, unknown>> = {
    valid: {},
    "exp just inside the skew": { exp: SEC - 29 },
    "exp at the skew": { exp: SEC - 30 },
    "exp past": { exp: SEC - 31 },
    "exp a string": { exp: String(SEC + 600) },
    "exp null": { exp: null },
    "exp missing": { exp: undefined },
    "nbf at the skew": { nbf: SEC + 30 },
    "nbf past the skew": { nbf: SEC + 31 },
    "nbf a string": { nbf: "0" },
    "iat a string": { iat: "0" },
    "iat in the future (not checked)": { iat: SEC + 9999 },
    "iat null": { iat: null },
    "iss missing": { iss: undefined },
    "iss other": { iss: "https://evil.test" },
    "iss a number": { iss: 1 },
    "iss a list": { iss: [ISS] },
    "aud missing": { aud: undefined },
    "aud other": { aud: "https://other.test/mcp" },
    "aud a list with it": { aud: ["x", AUD] },
    "aud a list with it and a number": { aud: [1, AUD] },
    "aud a list without it": { aud: ["x"] },
    "aud a number": { aud: 5 },
    "aud empty": { aud: "" },
    "aud nested": { aud: [[AUD]] },
    "sub missing": { sub: undefined },
    "sub with a space": { sub: "a b" },
    "sub non-ASCII": { sub: "ålice" },
    "__proto__ member": { ["__proto__"]: { exp: 1 } },
  };
  it("claims: exp, nbf, iat, iss, aud, sub", async () => {
    for (const [name, change] of Object.entries(claimCases)) {
      const claims: Record<string, unknown> = { ...base, ...change };
      for (const k of Object.keys(change)) if (change[k] === undefined) delete claims[k];
      const { fast, jose } = await both(b64(JSON.stringify(claims)));
      expect({ name, fast }).toEqual({ name, fast: jose });
    }
  });

  it("payloads: not an object, bad UTF-8, a BOM, duplicate members, base64url oddities", async () => {
    const good = JSON.stringify(base);
    const raw: Record<string, Buffer | string> = {
      array: b64("[]"),
      null: b64("null"),
      number: b64("1"),
      string: b64('"x"'),
      truncated: b64(good.slice(0, -1)),
      "a BOM first": b64(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(good)])),
      "invalid UTF-8": b64(Buffer.from(good.replace("alice", "al\u0000ce")).fill(0xff, 11, 12)),
      "overlong UTF-8": b64(Buffer.from(good.replace("alice", "al~ce")).fill(0xc0, 11, 12)),
      "a surrogate in UTF-8 (CESU)": b64(
        Buffer.concat([
          Buffer.from(good.slice(0, 10)),
          Buffer.from([0xed, 0xa0, 0x80]),
          Buffer.from(good.slice(13)),
        ]),
      ),
      "exp twice (the last wins)": b64(good.replace("{", `{"exp":1,`)),
      "exp huge (Infinity)": b64(good.replace(/"exp":\d+/, '"exp":1e400')),
      "a 4n+1 length": `${b64(good)}A`,
    };
    // non-canonical trailing bits (the same bytes as far as base64url decoders go)
    const odd = b64(`${good} `);
    if (odd.length % 4 === 2) raw["non-canonical last character"] = odd.slice(0, -1) + "B";
    for (const [name, segment] of Object.entries(raw)) {
      const { fast, jose } = await both(segment as string);
      expect({ name, fast }).toEqual({ name, fast: jose });
    }
    expect(Object.keys(raw).length).toBeGreaterThan(11);
  });
});
