/**
 * Checking an OAuth access token at the gateway's HTTP front (docs/identity.md, Speed): the
 * identity layer's JwtVerifier with the issuer's key already cached (a local JWKS: no fetch).
 *
 * "first sight" is the headline: every iteration checks a token never seen before (fresh
 * tokens, signed before the run, each a fresh string as an HTTP header gives it), as a client's
 * first request pays it. Beside it, in the same turns so that the machine's load hits all rows
 * alike: "remembered" (a client's next requests) and the floor, what the signature alone costs
 * on this machine: node:crypto's one-shot verify of the same signature (inputs decoded
 * beforehand), for RS256 the raw RSA operation alone (publicDecrypt without padding: Node's
 * cheapest public-key call, which the verifier's RS* check is built on), and OpenSSL's own
 * `openssl speed` figure for the same verify (no Node, its context made once: a mean over 1 s
 * of CPU time, not a p50; absent without the openssl binary or with --quick).
 * Each turn runs 10 operations of one case, then the next case: the code of each row is warm,
 * as in a gateway checking a stream of new tokens (one operation per case per turn measured
 * every row cold, after another row's code: on 2026-12-07 that put the floor at 27-30 us for
 * RS256 where OpenSSL measures 15).
 * Beside those, jose's jwtVerify alone on the same tokens (what the verifier's own path saves),
 * and for RS256 the first sight's parts (part 1 to 4: each row one more step of the
 * known-header path, the verifier's own functions on fresh tokens), so that what the check costs
 * above the raw RSA operation can be read step by step.
 * Goal (issue 24): a check with a cached key <= 20 us p50.
 */
import { spawnSync } from "node:child_process";
import { constants, createPublicKey, publicDecrypt, verify } from "node:crypto";
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from "jose";
import { checkedClaims } from "../src/identity/claims.js";
import type { OAuthSettings } from "../src/identity/index.js";
import { JwtVerifier } from "../src/identity/index.js";
import { isCompact, signatureVerifies } from "../src/identity/signature.js";
import type { Harness } from "./harness.js";

const ISS = "https://idp.bench";
const AUD = "https://gw.bench/mcp";
const GOAL = "goal (issue 24): <= 20 us p50 with a cached key";
type Alg = "RS256" | "ES256" | "EdDSA";
/** Operations of one case per turn. */
const BLOCK = 10;
/** `openssl speed` names and the line of its output that holds the verify rate. */
const NATIVE: Readonly<Record<Alg, { readonly what: string; readonly line: RegExp }>> = {
  RS256: { what: "rsa2048", line: /^rsa 2048 bits/ },
  ES256: { what: "ecdsap256", line: /ecdsa \(nistp256\)/ },
  EdDSA: { what: "ed25519", line: /EdDSA \(Ed25519\)/ },
};

/** A fresh copy of `t` (its own string, hash not computed), as node:http hands a header over. */
const fresh = (t: string) => Buffer.from(t, "latin1").toString("latin1");

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
  for (let i = 0; i <= n; i++)
    tokens.push(
      await new SignJWT({ sub: `user-${i}`, groups: ["eng"], scope: "mcp tools" })
        .setProtectedHeader({ alg, kid: "k1", typ: "at+jwt" })
        .setIssuer(ISS)
        .setAudience(AUD)
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(privateKey),
    );
  // the first token makes the issuer's header known (a gateway's first request after start)
  const remembered = tokens.pop() as string;
  const first = await v.verify(remembered);
  if (!first.ok) throw new Error(`bench token refused: ${first.message}`);
  if (v.joseChecks !== 0) throw new Error("the bench token took jose's whole path");
  const key = createPublicKey({ key: jwk, format: "jwk" });
  const opts = alg === "ES256" ? { key, dsaEncoding: "ieee-p1363" as const } : key;
  const hash = alg === "EdDSA" ? null : "sha256";
  const data = tokens.map((t) => Buffer.from(t.slice(0, t.lastIndexOf(".")), "latin1"));
  const sigs = tokens.map((t) => Buffer.from(t.slice(t.lastIndexOf(".") + 1), "base64url"));
  /** The floor: node:crypto's one-shot verify of the token's signature, inputs decoded. */
  const floor = (i: number) => {
    if (!verify(hash, data[i] as Buffer, opts, sigs[i] as Buffer))
      throw new Error("floor: the signature does not verify");
  };
  /** RSA's public operation alone (RSAVP1), Node's cheapest public-key call. */
  const rsa = (i: number) =>
    publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, sigs[i] as Buffer);
  /** jose's jwtVerify alone, with the verifier's options, on a fresh copy of the same tokens. */
  const joseTokens = tokens.map(fresh);
  const jose = (i: number) =>
    jwtVerify(joseTokens[i] as string, get, {
      issuer: ISS,
      audience: AUD,
      clockTolerance: 30,
      requiredClaims: ["exp"],
      algorithms: [alg],
    });
  /**
   * The first sight's parts, each row doing one more step of the known-header path on its own
   * fresh copy of the tokens (RS256): where the time above the raw RSA operation goes.
   */
  const rules = { issuer: ISS, audience: AUD, tolerance: 30 };
  const head = new Map([[remembered.slice(0, remembered.indexOf(".")), key]]);
  const [p1, p2, p3, p4] = [0, 1, 2, 3].map(() => tokens.map(fresh)) as [
    string[],
    string[],
    string[],
    string[],
  ];
  const parts = [
    (i: number) => {
      const t = p1[i] as string;
      const sig = Buffer.from(t.slice(t.lastIndexOf(".") + 1), "base64url");
      return publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, sig);
    },
    (i: number) => signatureVerifies(p2[i] as string, alg, key),
    (i: number) => {
      const t = p3[i] as string;
      const k = head.get(t.slice(0, t.indexOf(".")));
      return k !== undefined && isCompact(t) && signatureVerifies(t, alg, k);
    },
    (i: number) => {
      const t = p4[i] as string;
      const dot = t.indexOf(".");
      const k = head.get(t.slice(0, dot));
      if (k === undefined || !isCompact(t) || !signatureVerifies(t, alg, k))
        throw new Error("parts: the signature does not verify");
      return checkedClaims(t.slice(dot + 1, t.lastIndexOf(".")), rules, Date.now());
    },
  ] as const;
  return {
    v,
    tokens: tokens.map(fresh),
    remembered: tokens.map(() => fresh(remembered)),
    floor,
    rsa,
    jose,
    parts,
  };
}

interface Case {
  readonly name: string;
  readonly note?: string;
  readonly fn: (i: number) => unknown;
}

/**
 * Run the cases in turns of BLOCK operations each (the order rotates every turn), each
 * operation timed alone (operation i of a case gets index i); record p50/p99 per case, after
 * `warm` operations of each.
 */
async function turns(h: Harness, cases: readonly Case[], n: number, warm: number): Promise<void> {
  const per = cases.map(() => [] as number[]);
  for (let turn = 0; turn * BLOCK < n; turn++) {
    for (let k = 0; k < cases.length; k++) {
      const j = (k + turn) % cases.length;
      const fn = (cases[j] as Case).fn;
      for (let i = turn * BLOCK; i < Math.min(n, (turn + 1) * BLOCK); i++) {
        const t0 = process.hrtime.bigint();
        const r = fn(i);
        if (r instanceof Promise) await r;
        const dt = Number(process.hrtime.bigint() - t0);
        if (i >= warm) (per[j] as number[]).push(dt);
      }
    }
  }
  cases.forEach((c, j) => {
    const xs = (per[j] as number[]).sort((a, b) => a - b);
    const at = (p: number) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
    const total = xs.reduce((a, b) => a + b, 0);
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

const round = (x: number) => (x >= 100 ? Math.round(x) : Math.round(x * 10) / 10);

/** OpenSSL's own verify rate for `alg` (`openssl speed`), per second; undefined without it. */
function nativeRate(alg: Alg): number | undefined {
  const out = spawnSync("openssl", ["speed", "-seconds", "1", NATIVE[alg].what], {
    encoding: "utf8",
    timeout: 30_000,
  });
  if (out.status !== 0 || typeof out.stdout !== "string") return undefined;
  const line = out.stdout.split("\n").find((l) => NATIVE[alg].line.test(l));
  const rate = Number(line?.trim().split(/\s+/).at(-1));
  return Number.isFinite(rate) && rate > 0 ? rate : undefined;
}

export default async function (h: Harness): Promise<void> {
  const warm = h.quick ? 20 : 200;
  const n = (h.quick ? 200 : 2000) + warm;
  for (const alg of ["RS256", "ES256", "EdDSA"] as const) {
    const b = await setup(alg, n);
    const cases: Case[] = [
      {
        name: `JWT check, first sight (${alg}, cached key; a fresh token each time)`,
        note: `${GOAL}; known header: signature (node:crypto) + claims`,
        fn: (i) => b.v.verify(b.tokens[i] as string),
      },
      {
        name: `JWT check, remembered (${alg}; a client's next request)`,
        fn: (i) => b.v.verify(b.remembered[i] as string),
      },
      {
        name: `floor: node:crypto verify(alg, data, KeyObject, sig) alone (${alg}, decoded inputs)`,
        fn: b.floor,
      },
      {
        name: `jose jwtVerify alone (${alg}, the same fresh tokens and local key set)`,
        note: "the library by itself: WebCrypto verify on the thread pool, its own claims checks",
        fn: b.jose,
      },
    ];
    if (alg === "RS256")
      cases.push(
        {
          name: "floor: raw RSA-2048 public operation alone (publicDecrypt, no padding)",
          fn: b.rsa,
        },
        {
          name: "part 1: raw RSA + the signature's base64url decode",
          fn: b.parts[0],
        },
        {
          name: "part 2: + sha256 of the signing input, the PKCS#1 encoding compared (signatureVerifies)",
          fn: b.parts[1],
        },
        {
          name: "part 3: + the token's syntax (isCompact) and the known-header lookup",
          fn: b.parts[2],
        },
        {
          name: "part 4: + the claims decoded and checked (checkedClaims)",
          note: "first sight minus this: the caller's record, the memo, the promise",
          fn: b.parts[3],
        },
      );
    await turns(h, cases, n, warm);
    const rate = h.quick ? undefined : nativeRate(alg);
    if (rate !== undefined)
      h.record({
        name: `native: openssl speed ${NATIVE[alg].what} verify (OpenSSL alone, no Node)`,
        p50_ns: round(1e9 / rate),
        p99_ns: round(1e9 / rate),
        ops_per_s: Math.round(rate),
        samples: Math.round(rate),
        note: "a mean over 1 s of CPU time, not a p50; its context made once",
      });
  }
}
