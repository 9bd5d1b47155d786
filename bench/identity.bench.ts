/**
 * Checking an OAuth access token at the gateway's HTTP front (docs/identity.md, Speed): the
 * identity layer's JwtVerifier with the issuer's key already cached (a local JWKS: no fetch).
 *
 * "first sight" is the headline: every iteration checks a token never seen before (fresh
 * tokens, signed before the run), as a client's first request pays it. Beside it, in the same
 * turns so that the machine's load hits all alike: "remembered" (a client's next requests: the
 * verified token is remembered by its text), "jose jwtVerify alone" (jose's whole path, WebCrypto
 * on the thread pool, as the verifier did before) and the floor, node:crypto's verify of the same
 * token's signature (what OpenSSL costs on this machine: no check can be faster than it).
 * Goal (issue 24): a check with a cached key <= 20 us p50.
 */
import { createPublicKey, verify } from "node:crypto";
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from "jose";
import type { OAuthSettings } from "../src/identity/index.js";
import { JwtVerifier } from "../src/identity/index.js";
import type { Harness } from "./harness.js";

const ISS = "https://idp.bench";
const AUD = "https://gw.bench/mcp";
const GOAL = "goal (issue 24): <= 20 us p50 with a cached key";
type Alg = "RS256" | "ES256" | "EdDSA";

async function setup(alg: Alg, n: number) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg };
  const settings: OAuthSettings = {
    issuer: ISS,
    audience: AUD,
    requiredScopes: ["mcp"],
    subjectClaim: "sub",
    groupsClaim: "groups",
    algorithms: [alg],
    clockSkewSeconds: 30,
    jwksCooldownSeconds: 30,
    authorizationServers: [ISS],
    scopesSupported: ["mcp"],
  };
  const get = createLocalJWKSet({ keys: [jwk] });
  const v = new JwtVerifier(settings, { get, where: "bench" });
  const tokens: string[] = [];
  for (let i = 0; i < n; i++)
    tokens.push(
      await new SignJWT({ sub: `user-${i}`, groups: ["eng"], scope: "mcp tools" })
        .setProtectedHeader({ alg, kid: "k1", typ: "at+jwt" })
        .setIssuer(ISS)
        .setAudience(AUD)
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(privateKey),
    );
  const first = await v.verify(tokens[0] as string);
  if (!first.ok) throw new Error(`bench token refused: ${first.message}`);
  if (v.joseChecks !== 0) throw new Error("the bench token took jose's whole path");
  const key = createPublicKey({ key: jwk, format: "jwk" });
  const opts = alg === "ES256" ? { key, dsaEncoding: "ieee-p1363" as const } : key;
  const hash = alg === "EdDSA" ? null : "sha256";
  /** The floor: OpenSSL's verify of the token's signature, nothing else. */
  const floor = (t: string) => {
    const dot = t.lastIndexOf(".");
    const ok = verify(
      hash,
      Buffer.from(t.slice(0, dot), "latin1"),
      opts,
      Buffer.from(t.slice(dot + 1), "base64url"),
    );
    if (!ok) throw new Error("floor: the signature does not verify");
  };
  const jose = (t: string) =>
    jwtVerify(t, get, {
      issuer: ISS,
      audience: AUD,
      algorithms: [alg],
      clockTolerance: 30,
      requiredClaims: ["exp"],
    });
  return { v, tokens, floor, jose, remembered: tokens[0] as string };
}

interface Case {
  readonly name: string;
  readonly note?: string;
  readonly fn: (i: number) => unknown;
}

/**
 * Time each case once per token index, in turns (the order rotates every iteration), each
 * operation timed alone; record p50/p99 per case.
 */
async function turns(h: Harness, cases: readonly Case[], n: number, warm: number): Promise<void> {
  const per = cases.map(() => [] as number[]);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < cases.length; k++) {
      const j = (k + i) % cases.length;
      const t0 = process.hrtime.bigint();
      const r = (cases[j] as Case).fn(i);
      if (r instanceof Promise) await r;
      const dt = Number(process.hrtime.bigint() - t0);
      if (i >= warm) (per[j] as number[]).push(dt);
    }
  }
  cases.forEach((c, j) => {
    const xs = (per[j] as number[]).sort((a, b) => a - b);
    const at = (p: number) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
    const total = xs.reduce((a, b) => a + b, 0);
    const round = (x: number) => (x >= 100 ? Math.round(x) : Math.round(x * 10) / 10);
    h.record({
      name: c.name,
      p50_ns: round(at(50) as number),
      p99_ns: round(at(99) as number),
      ops_per_s: Math.round(xs.length / (total / 1e9)),
      samples: xs.length,
      ...(c.note === undefined ? {} : { note: c.note }),
    });
  });
}

export default async function (h: Harness): Promise<void> {
  const warm = h.quick ? 10 : 100;
  const n = (h.quick ? 150 : 1500) + warm;
  for (const alg of ["RS256", "ES256", "EdDSA"] as const) {
    const b = await setup(alg, n);
    await turns(
      h,
      [
        {
          name: `JWT check, first sight (${alg}, cached key; a fresh token each time)`,
          note: `${GOAL}; node:crypto verify + jose claims`,
          fn: (i) => b.v.verify(b.tokens[i] as string),
        },
        {
          name: `JWT check, remembered (${alg}; a client's next request)`,
          fn: () => b.v.verify(b.remembered),
        },
        {
          name: `jose jwtVerify alone, first sight (${alg}; WebCrypto, the verifier before)`,
          fn: (i) => b.jose(b.tokens[i] as string),
        },
        {
          name: `floor: node:crypto verify of the signature only (${alg}, OpenSSL)`,
          fn: (i) => b.floor(b.tokens[i] as string),
        },
      ],
      n,
      warm,
    );
  }
}
