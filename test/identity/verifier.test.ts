// The JwtVerifier's signature step (node:crypto on the key jose looked up, signature.ts) says what
// jose's jwtVerify says, token for token: per algorithm, for tokens changed a character at a time,
// for keys of the wrong type or size, for headers that are not plain. And a remembered token is
// verified again once the issuer's keys were fetched again: a key removed from the JWKS stops
// its tokens at the next refresh, remembered or not. A header seen on a verified token is known
// with its key (no parsing, no key lookup) only under the keys it was seen with.
import {
  constants,
  createHash,
  sign as cryptoSign,
  generateKeyPairSync,
  KeyObject,
  privateDecrypt,
  randomBytes,
} from "node:crypto";
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Algorithm,
  JwtVerifier,
  type KeySource,
  keySource,
  type OAuthSettings,
} from "../../src/identity/index.js";
import { type Issuer, startIssuer } from "./issuer.js";

const ISS = "https://idp.test";
const AUD = "https://gw.test/mcp";

function settings(algorithms: readonly Algorithm[], extra: Partial<OAuthSettings> = {}) {
  return {
    issuer: ISS,
    audience: AUD,
    requiredScopes: [],
    subjectClaim: "sub",
    groupsClaim: "groups",
    algorithms,
    clockSkewSeconds: 30,
    jwksCooldownSeconds: 0,
    authorizationServers: [ISS],
    scopesSupported: [],
    ...extra,
  } satisfies OAuthSettings;
}

type Key = Awaited<ReturnType<typeof generateKeyPair>>;
async function keyOf(alg: string) {
  const pair: Key = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: `k-${alg}`, alg };
  return { pair, jwk };
}

const sign = (
  key: Key["privateKey"],
  header: Record<string, unknown>,
  claims: Record<string, unknown> = {},
) =>
  new SignJWT({ sub: "alice", groups: ["eng"], scope: "mcp", ...claims })
    .setProtectedHeader(header as { alg: string })
    .setIssuer(ISS)
    .setAudience(AUD)
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(key);

/** A small deterministic PRNG (mulberry32), so that a failure can be replayed. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";

describe("JwtVerifier: node:crypto's signature check says what jose says", () => {
  const algs = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"] as const;
  for (const alg of algs)
    it(`${alg}: a valid token passes without jose's whole path; 220 changed tokens get jose's verdict`, async () => {
      const { pair, jwk } = await keyOf(alg);
      const get = createLocalJWKSet({ keys: [jwk] });
      const v = new JwtVerifier(settings([alg]), { get, where: "test" });
      const token = await sign(pair.privateKey, { alg, kid: jwk.kid, typ: "at+jwt" });
      const ok = await v.verify(token);
      expect(ok).toMatchObject({ ok: true, principal: { caller: "alice", groups: ["eng"] } });
      expect(v.joseChecks).toBe(0);
      const next = rng(alg.length * 7919 + alg.charCodeAt(2));
      for (let i = 0; i < 220; i++) {
        const at = Math.floor(next() * token.length);
        const c = ALPHABET[Math.floor(next() * ALPHABET.length)] as string;
        const changed = token.slice(0, at) + c + token.slice(at + 1);
        v.forget();
        const ours = await v.verify(changed);
        const jose = await jwtVerify(changed, get, {
          issuer: ISS,
          audience: AUD,
          algorithms: [alg],
          clockTolerance: 30,
          requiredClaims: ["exp"],
        }).then(
          () => true,
          () => false,
        );
        expect({ changed, ok: ours.ok }).toEqual({ changed, ok: jose });
      }
      // most changes keep the header: those took the known-header path
      expect(v.knownHeaderChecks).toBeGreaterThan(100);
    });

  for (const alg of ["RS256", "RS384", "RS512"] as const)
    it(`${alg}: forged signatures (encodings raised to d, numbers >= n, wrong lengths) get jose's verdict`, async () => {
      const { pair, jwk } = await keyOf(alg);
      const get = createLocalJWKSet({ keys: [jwk] });
      const v = new JwtVerifier(settings([alg]), { get, where: "test" });
      const token = await sign(pair.privateKey, { alg, kid: jwk.kid, typ: "at+jwt" });
      expect((await v.verify(token)).ok).toBe(true);
      const priv = KeyObject.from(pair.privateKey as Parameters<typeof KeyObject.from>[0]);
      const input = token.slice(0, token.lastIndexOf("."));
      const h = `sha${alg.slice(2)}`;
      const digest = createHash(h).update(input).digest();
      const info = {
        sha256: "3031300d060960864801650304020105000420",
        sha384: "3041300d060960864801650304020205000430",
        sha512: "3051300d060960864801650304020305000440",
      } as Record<string, string>;
      const t = Buffer.concat([Buffer.from(info[h] as string, "hex"), digest]);
      const k = 256;
      const em = (body: Buffer, ps = k - 3 - body.length, lead = [0, 1]) =>
        Buffer.concat([
          Buffer.alloc(Math.max(0, k - lead.length - ps - 1 - body.length)),
          Buffer.from(lead),
          Buffer.alloc(ps, 0xff),
          Buffer.from([0]),
          body,
        ]).subarray(-k);
      const raise = (x: Buffer) =>
        privateDecrypt({ key: priv, padding: constants.RSA_NO_PADDING }, x);
      const n = Buffer.from(jwk.n as string, "base64url");
      const num = (b: Buffer, d: number) =>
        Buffer.from(
          (BigInt(`0x${b.toString("hex")}`) + BigInt(d)).toString(16).padStart(2 * k, "0"),
          "hex",
        ).subarray(-k);
      const other = h === "sha256" ? "sha512" : "sha256";
      const absentNull = Buffer.from(info[h] as string, "hex");
      const noNull = Buffer.concat([absentNull.subarray(0, 15), absentNull.subarray(17)]);
      noNull[1] = (absentNull[1] as number) - 2;
      noNull[3] = (absentNull[3] as number) - 2;
      const sigs: Buffer[] = [
        raise(em(t)), // the one valid encoding
        raise(em(t, 7)), // 7 FF
        raise(em(Buffer.concat([t, randomBytes(6)]))), // trailing garbage
        raise(em(Buffer.concat([noNull, digest]))), // parameters absent
        raise(em(Buffer.concat([Buffer.from([0x30, 0x81]), t.subarray(1)]))), // BER long length
        raise(
          em(
            Buffer.concat([
              Buffer.from(info[other] as string, "hex"),
              createHash(other).update(input).digest(),
            ]),
          ),
        ),
        raise(em(t, undefined, [0, 2])), // block type 2
        raise(em(digest)), // no DigestInfo
        n,
        num(n, 1),
        Buffer.alloc(k),
        num(Buffer.alloc(k), 1),
        Buffer.alloc(k, 0xff),
        raise(em(t)).subarray(1), // short
        Buffer.concat([Buffer.from([0]), raise(em(t))]), // long
      ];
      for (let i = 2; i < k; i += 16) {
        const x = em(t);
        x[i] = (x[i] as number) ^ 0x40;
        sigs.push(raise(x));
      }
      // random numbers below n (n's first octet is 0x80 or more): OpenSSL raises them
      for (let i = 0; i < 10; i++) {
        const r = randomBytes(k);
        r[0] = (r[0] as number) & 0x7f;
        sigs.push(r);
      }
      let valid = 0;
      for (const sig of sigs) {
        const forged = `${input}.${sig.toString("base64url")}`;
        v.forget();
        const ours = (await v.verify(forged)).ok;
        const jose = await jwtVerify(forged, get, {
          issuer: ISS,
          audience: AUD,
          algorithms: [alg],
          clockTolerance: 30,
          requiredClaims: ["exp"],
        }).then(
          () => true,
          () => false,
        );
        expect({ sig: sig.toString("hex"), ok: ours }).toEqual({
          sig: sig.toString("hex"),
          ok: jose,
        });
        if (ours) valid++;
      }
      expect(valid).toBe(1);
      // all took the known-header path but n, n + 1 and all ones (>= n: jose's path refuses)
      expect(v.knownHeaderChecks).toBe(sigs.length - 3);
    });

  it("refuses a signature of the right key under another algorithm, and a key of the wrong type", async () => {
    const rsa = await keyOf("RS256");
    const ec = await keyOf("ES256");
    // the JWKS holds an EC key under the kid an RS256 token names
    const get = createLocalJWKSet({ keys: [{ ...ec.jwk, kid: "k", alg: undefined }] });
    const v = new JwtVerifier(settings(["RS256", "ES256"]), { get, where: "test" });
    const r = await v.verify(await sign(rsa.pair.privateKey, { alg: "RS256", kid: "k" }));
    expect(r).toMatchObject({ ok: false, status: 401, message: /no key/ });
    // an RS256 token re-labelled PS256 (same key, other padding)
    const get2 = createLocalJWKSet({ keys: [{ ...rsa.jwk, alg: undefined }] });
    const v2 = new JwtVerifier(settings(["RS256", "PS256"]), { get: get2, where: "test" });
    const [, p, s] = (await sign(rsa.pair.privateKey, { alg: "RS256", kid: rsa.jwk.kid })).split(
      ".",
    );
    const head = Buffer.from(JSON.stringify({ alg: "PS256", kid: rsa.jwk.kid })).toString(
      "base64url",
    );
    expect(await v2.verify(`${head}.${p}.${s}`)).toMatchObject({
      ok: false,
      message: /signature/,
    });
  });

  it("an RSA key under 2048 bits is refused, as jose refuses it", async () => {
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const jwk = { ...small.publicKey.export({ format: "jwk" }), kid: "small", alg: "RS256" };
    const v = new JwtVerifier(settings(["RS256"]), {
      get: createLocalJWKSet({ keys: [jwk as JWK] }),
      where: "test",
    });
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const exp = Math.floor(Date.now() / 1000) + 600;
    const input = `${b64({ alg: "RS256", kid: "small" })}.${b64({ sub: "a", iss: ISS, aud: AUD, exp })}`;
    const sig = cryptoSign("sha256", Buffer.from(input), small.privateKey).toString("base64url");
    const r = await v.verify(`${input}.${sig}`);
    expect(r.ok).toBe(false);
    expect(v.joseChecks).toBe(1);
  });

  it("a token whose header is not plain (crit, jwk, b64, other members) goes through jose whole", async () => {
    const { pair, jwk } = await keyOf("ES256");
    const v = new JwtVerifier(settings(["ES256"]), {
      get: createLocalJWKSet({ keys: [jwk] }),
      where: "test",
    });
    const extra = await sign(pair.privateKey, { alg: "ES256", kid: jwk.kid, x5t: "abc" });
    expect((await v.verify(extra)).ok).toBe(true);
    expect(v.joseChecks).toBe(1);
    const crit = await sign(pair.privateKey, {
      alg: "ES256",
      kid: jwk.kid,
      crit: ["exp"],
      exp: 1,
    }).catch(() => undefined);
    if (crit !== undefined) expect((await v.verify(crit)).ok).toBe(false);
    // an embedded key is never trusted
    const own = await keyOf("ES256");
    const embedded = await sign(own.pair.privateKey, { alg: "ES256", jwk: own.jwk });
    expect((await v.verify(embedded)).ok).toBe(false);
  });
});

describe("JwtVerifier: known headers and remembered tokens", () => {
  it("a known header's key is used only under the keys it was seen with, and while they are fresh", async () => {
    const a = await keyOf("ES256");
    const b = await keyOf("ES256");
    let set = createLocalJWKSet({ keys: [{ ...a.jwk, kid: "k" }] });
    let epoch: number | undefined = 1;
    let fresh = true;
    let gets = 0;
    const v = new JwtVerifier(settings(["ES256"]), {
      get: ((h, t) => {
        gets++;
        return set(h, t);
      }) as KeySource["get"],
      where: "test",
      epoch: () => epoch,
      fresh: () => fresh,
    });
    const head = { alg: "ES256", kid: "k" };
    expect((await v.verify(await sign(a.pair.privateKey, head, { sub: "a1" }))).ok).toBe(true);
    expect((await v.verify(await sign(a.pair.privateKey, head, { sub: "a2" }))).ok).toBe(true);
    expect({ gets, known: v.knownHeaderChecks }).toEqual({ gets: 1, known: 1 });
    // keys due for a refresh: the key set is asked (it is what refreshes them)
    fresh = false;
    expect((await v.verify(await sign(a.pair.privateKey, head, { sub: "a3" }))).ok).toBe(true);
    expect(gets).toBe(2);
    fresh = true;
    // a fetch under way: the key set is asked
    epoch = undefined;
    expect((await v.verify(await sign(a.pair.privateKey, head, { sub: "a4" }))).ok).toBe(true);
    expect(gets).toBe(3);
    // the issuer replaced the key under the same kid: a token of the old key is refused, though
    // its header text is the one known
    set = createLocalJWKSet({ keys: [{ ...b.jwk, kid: "k" }] });
    epoch = 2;
    const old = await v.verify(await sign(a.pair.privateKey, head, { sub: "a5" }));
    expect(old).toMatchObject({ ok: false, status: 401, message: /signature/ });
    expect((await v.verify(await sign(b.pair.privateKey, head, { sub: "b1" }))).ok).toBe(true);
    expect(gets).toBe(5);
  });

  it("a token ending like a remembered one is checked whole; the remembered one stays", async () => {
    const { pair, jwk } = await keyOf("RS256");
    const v = new JwtVerifier(settings(["RS256"]), {
      get: createLocalJWKSet({ keys: [jwk] }),
      where: "test",
    });
    const t = await sign(pair.privateKey, { alg: "RS256", kid: jwk.kid }, { sub: "alice" });
    expect((await v.verify(t)).ok).toBe(true);
    const [h, , sig] = t.split(".");
    const payload = Buffer.from(
      JSON.stringify({
        sub: "mallory",
        iss: ISS,
        aud: AUD,
        exp: Math.floor(Date.now() / 1000) + 600,
      }),
    ).toString("base64url");
    const forged = `${h}.${payload}.${sig}`;
    expect(forged.slice(-32)).toBe(t.slice(-32));
    expect(await v.verify(forged)).toMatchObject({ ok: false, message: /signature/ });
    const checks = v.signatureChecks;
    expect(await v.verify(t)).toMatchObject({ ok: true, principal: { caller: "alice" } });
    expect(v.signatureChecks).toBe(checks);
  });
});

describe("JwtVerifier: remembered tokens and the issuer's key refresh", () => {
  let issuer: Issuer;
  beforeAll(async () => {
    issuer = await startIssuer(AUD);
  });
  afterAll(async () => {
    await issuer?.close();
  });

  it("a key removed from the JWKS stops its remembered tokens at the next refresh", async () => {
    const s = settings(["RS256"], { issuer: issuer.url });
    const v = new JwtVerifier(s, keySource({ ...s, jwksUri: issuer.jwksUrl }));
    const old = await issuer.sign({ sub: "mallory" });
    // the first check fetched the keys meanwhile: verified, but remembered from the second on
    expect((await v.verify(old)).ok).toBe(true);
    expect((await v.verify(old)).ok).toBe(true);
    const checks = v.signatureChecks;
    expect((await v.verify(old)).ok).toBe(true); // remembered
    expect(v.signatureChecks).toBe(checks);
    // the issuer drops the key (compromised) and publishes a new one; a token of the new key
    // makes the gateway fetch the keys again
    await issuer.rotate();
    const fetches = issuer.jwksFetches;
    expect((await v.verify(await issuer.sign({ sub: "alice" }))).ok).toBe(true);
    expect(issuer.jwksFetches).toBe(fetches + 1);
    const r = await v.verify(old);
    expect(r).toMatchObject({ ok: false, status: 401, code: "token_invalid" });
    expect(r.ok ? "" : r.message).toMatch(/no key/);
  });

  it("a token of a key still published stays valid across a refresh (verified once more)", async () => {
    const s = settings(["RS256"], { issuer: issuer.url });
    const v = new JwtVerifier(s, keySource({ ...s, jwksUri: issuer.jwksUrl }));
    const t = await issuer.sign({ sub: "bob" });
    expect((await v.verify(t)).ok).toBe(true);
    // an unknown kid refreshes the keys (jwks_cooldown_seconds: 0); the key of t is still there
    expect((await v.verify(await issuer.sign({ sub: "x" }, { kid: "gone" }))).ok).toBe(false);
    const checks = v.signatureChecks;
    expect((await v.verify(t)).ok).toBe(true);
    expect(v.signatureChecks).toBe(checks + 1);
    expect((await v.verify(t)).ok).toBe(true);
    expect(v.signatureChecks).toBe(checks + 1);
  });
});
