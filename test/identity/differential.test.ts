// The JwtVerifier against jose's jwtVerify, category by category, on tokens generated here
// (signed with node:crypto so that any header or payload text can be signed): valid tokens,
// tampered payloads, signatures and headers, wrong and disallowed algorithms (`none`, HS256 keyed
// with the public key, another asymmetric one), `crit`, expired and not-yet-valid tokens, wrong
// `aud`/`iss`, unknown and odd `kid`s, duplicate JSON members in the header and the payload,
// non-canonical base64url, huge tokens. Each token is checked three ways: by a verifier that
// knows the issuer's header (the known-header path: node:crypto + claims.ts, no jose), by a new
// verifier (jose's key lookup, node:crypto's signature check, or jose whole for a header that is
// not plain), and by jose alone; the verdicts must agree, except that a token longer than
// MAX_TOKEN_CHARS is refused whatever jose says (fail closed).
import {
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
} from "node:crypto";
import { createLocalJWKSet, type JWK, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { JwtVerifier, type OAuthSettings } from "../../src/identity/index.js";
import { MAX_TOKEN_CHARS } from "../../src/identity/verifier.js";

const ISS = "https://idp.test";
const AUD = "https://gw.test/mcp";
const NOW = 1_800_000_000_000;
const SEC = NOW / 1000;
const SKEW = 30;

type Alg = "RS256" | "ES256" | "EdDSA";

const settings = (alg: Alg): OAuthSettings => ({
  issuer: ISS,
  audience: AUD,
  requiredScopes: [],
  subjectClaim: "sub",
  groupsClaim: "groups",
  algorithms: [alg],
  clockSkewSeconds: SKEW,
  jwksCooldownSeconds: 0,
  authorizationServers: [ISS],
  scopesSupported: [],
});

const b64 = (x: string | Buffer) => Buffer.from(x).toString("base64url");
const pairOf = (alg: Alg) =>
  alg === "RS256"
    ? generateKeyPairSync("rsa", { modulusLength: 2048 })
    : alg === "ES256"
      ? generateKeyPairSync("ec", { namedCurve: "P-256" })
      : generateKeyPairSync("ed25519");

/** The JWS signature of `input` under `alg` (ES256: r || s, as JWS wants it). */
function signature(alg: string, input: string, key: KeyObject): Buffer {
  if (alg === "ES256")
    return sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
  if (alg === "EdDSA") return sign(null, Buffer.from(input), key);
  if (alg === "RS384") return sign("sha384", Buffer.from(input), key);
  return sign("sha256", Buffer.from(input), key);
}

const claims = (extra: Record<string, unknown> = {}) => {
  const c: Record<string, unknown> = {
    sub: "alice",
    groups: ["eng"],
    scope: "mcp",
    iss: ISS,
    aud: AUD,
    iat: SEC,
    exp: SEC + 600,
    ...extra,
  };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  return JSON.stringify(c);
};

/** Replace the character at `at` by another base64url character. */
const flip = (s: string, at: number) =>
  s.slice(0, at) + (s[at] === "A" ? "B" : "A") + s.slice(at + 1);

function tokensFor(alg: Alg, key: KeyObject, other: KeyObject, publicJwk: JWK) {
  const header = JSON.stringify({ alg, kid: "k1", typ: "at+jwt" });
  const signed = (h: string, p: string, k: KeyObject = key, a: string = alg) => {
    const input = `${b64(h)}.${b64(p)}`;
    return `${input}.${b64(signature(a, input, k))}`;
  };
  /** A token made of raw segments, signed over them as they are. */
  const rawSigned = (h: string, p: string, k: KeyObject = key) =>
    `${h}.${p}.${b64(signature(alg, `${h}.${p}`, k))}`;
  const valid = signed(header, claims());
  const [h, p, s] = valid.split(".") as [string, string, string];
  const t: Record<string, string> = {};

  t.valid = valid;
  t["valid, another subject"] = signed(header, claims({ sub: "bob", groups: [] }));
  t["valid, aud a list holding the gateway"] = signed(header, claims({ aud: ["x", AUD] }));
  t["valid, nbf inside the skew"] = signed(header, claims({ nbf: SEC + SKEW }));
  t["valid, a header of alg and kid only"] = signed(JSON.stringify({ alg, kid: "k1" }), claims());
  t["valid, typ JWT"] = signed(JSON.stringify({ alg, kid: "k1", typ: "JWT" }), claims());
  t["valid, no kid (one key in the JWKS)"] = signed(JSON.stringify({ alg }), claims());

  // tampered payloads: the same signature over other claims
  for (const at of [0, 5, Math.floor(p.length / 2), p.length - 2])
    t[`payload changed at ${at}`] = `${h}.${flip(p, at)}.${s}`;
  t["payload of another subject, the signature kept"] =
    `${h}.${b64(claims({ sub: "mallory" }))}.${s}`;
  t["payload of another token"] = `${h}.${t["valid, another subject"]?.split(".")[1]}.${s}`;

  // tampered signatures
  for (const at of [0, 1, Math.floor(s.length / 2), s.length - 2])
    t[`signature changed at ${at}`] = `${h}.${p}.${flip(s, at)}`;
  t["signature truncated by one character"] = `${h}.${p}.${s.slice(0, -1)}`;
  t["signature truncated by four characters"] = `${h}.${p}.${s.slice(0, -4)}`;
  t["signature with a character more"] = `${h}.${p}.${s}A`;
  t["signature with four characters more"] = `${h}.${p}.${s}AAAA`;
  t["signature empty"] = `${h}.${p}.`;
  t["signature of another token"] = `${h}.${p}.${t["valid, another subject"]?.split(".")[2]}`;
  t["signature by another key"] = signed(header, claims(), other);

  // tampered headers: another text under the same signature
  t["header kid changed, signature kept"] =
    `${b64(JSON.stringify({ alg, kid: "k2", typ: "at+jwt" }))}.${p}.${s}`;
  t["header typ changed, signature kept"] =
    `${b64(JSON.stringify({ alg, kid: "k1", typ: "JWT" }))}.${p}.${s}`;
  t["header changed at 3"] = `${flip(h, 3)}.${p}.${s}`;

  // algorithms
  t["alg none, no signature"] = `${b64(JSON.stringify({ alg: "none", kid: "k1" }))}.${p}.`;
  t["alg none, the valid signature kept"] =
    `${b64(JSON.stringify({ alg: "none", kid: "k1" }))}.${p}.${s}`;
  const hsHead = b64(JSON.stringify({ alg: "HS256", kid: "k1" }));
  const pem = createPublicKey({ key: publicJwk, format: "jwk" }).export({
    type: "spki",
    format: "pem",
  }) as string;
  for (const [what, secret] of [
    ["the JWK", JSON.stringify(publicJwk)],
    ["the PEM", pem],
  ] as const) {
    const mac = createHmac("sha256", secret).update(`${hsHead}.${p}`).digest();
    t[`HS256 keyed with ${what}`] = `${hsHead}.${p}.${b64(mac)}`;
  }
  t["alg lowercase"] = signed(JSON.stringify({ alg: alg.toLowerCase(), kid: "k1" }), claims());
  t["alg a number"] = signed(JSON.stringify({ alg: 256, kid: "k1" }), claims());
  t["alg missing"] = signed(JSON.stringify({ kid: "k1" }), claims());
  if (alg === "RS256")
    t["RS384, not in the allow-list, signed by the right key"] = signed(
      JSON.stringify({ alg: "RS384", kid: "k1" }),
      claims(),
      key,
      "RS384",
    );
  else
    t["RS256, not in the allow-list"] = signed(
      JSON.stringify({ alg: "RS256", kid: "k1" }),
      claims(),
    );

  // crit and other header members
  t["crit naming exp"] = signed(
    JSON.stringify({ alg, kid: "k1", crit: ["exp"], exp: 1 }),
    claims(),
  );
  t["crit empty"] = signed(JSON.stringify({ alg, kid: "k1", crit: [] }), claims());
  t["crit b64 false"] = signed(
    JSON.stringify({ alg, kid: "k1", crit: ["b64"], b64: false }),
    claims(),
  );
  t["crit unknown member"] = signed(
    JSON.stringify({ alg, kid: "k1", crit: ["x"], x: 1 }),
    claims(),
  );
  t["an extra header member (x5t)"] = signed(
    JSON.stringify({ alg, kid: "k1", x5t: "abc" }),
    claims(),
  );
  t["an embedded jwk of another key"] = signed(
    JSON.stringify({ alg, jwk: { kty: "oct", k: "AAAA" } }),
    claims(),
    other,
  );
  t["typ a number"] = signed(JSON.stringify({ alg, kid: "k1", typ: 1 }), claims());
  t["header an array"] = signed(JSON.stringify([alg]), claims());
  t["header not JSON"] = signed("{alg:1}", claims());

  // time
  t["expired past the skew"] = signed(header, claims({ exp: SEC - SKEW - 1 }));
  t["expired at the skew"] = signed(header, claims({ exp: SEC - SKEW }));
  t["expired inside the skew"] = signed(header, claims({ exp: SEC - SKEW + 1 }));
  t["exp missing"] = signed(header, claims({ exp: undefined }));
  t["exp a string"] = signed(header, claims({ exp: String(SEC + 600) }));
  t["nbf past the skew"] = signed(header, claims({ nbf: SEC + SKEW + 1 }));
  t["iat a string"] = signed(header, claims({ iat: "now" }));

  // issuer and audience
  t["iss other"] = signed(header, claims({ iss: "https://evil.test" }));
  t["iss missing"] = signed(header, claims({ iss: undefined }));
  t["iss with a trailing slash"] = signed(header, claims({ iss: `${ISS}/` }));
  t["aud other"] = signed(header, claims({ aud: "https://other.test/mcp" }));
  t["aud missing"] = signed(header, claims({ aud: undefined }));
  t["aud a list without the gateway"] = signed(header, claims({ aud: ["x", "y"] }));
  t["aud with a trailing slash"] = signed(header, claims({ aud: `${AUD}/` }));

  // keys
  t["unknown kid, signed by another key"] = signed(
    JSON.stringify({ alg, kid: "k2" }),
    claims(),
    other,
  );
  t["unknown kid, signed by the key"] = signed(JSON.stringify({ alg, kid: "k2" }), claims());
  t["kid a number"] = signed(JSON.stringify({ alg, kid: 1 }), claims());
  t["kid empty"] = signed(JSON.stringify({ alg, kid: "" }), claims());

  // duplicate JSON members: the last one counts, for jose's JSON.parse as for ours
  t["header alg twice, none last"] = signed(`{"alg":"${alg}","alg":"none","kid":"k1"}`, claims());
  t["header alg twice, none first"] = signed(`{"alg":"none","alg":"${alg}","kid":"k1"}`, claims());
  t["header kid twice, k1 last"] = signed(`{"alg":"${alg}","kid":"k2","kid":"k1"}`, claims());
  t["header kid twice, k1 first"] = signed(`{"alg":"${alg}","kid":"k1","kid":"k2"}`, claims());
  const c = claims();
  t["payload aud twice, the gateway last"] = signed(header, c.replace("{", '{"aud":"https://x",'));
  t["payload aud twice, the gateway first"] = signed(header, c.replace("}", ',"aud":"https://x"}'));
  t["payload exp twice, expired last"] = signed(header, c.replace("}", `,"exp":${SEC - 999}}`));
  t["payload sub twice"] = signed(header, c.replace("}", ',"sub":"mallory"}'));

  // base64url as it is written
  const sH = b64(header);
  const sP = b64(c);
  t["standard base64 (+ /) in the payload, signed"] = rawSigned(
    sH,
    Buffer.from(c).toString("base64").replace(/=+$/, ""),
  );
  t["padding in the payload, signed"] = rawSigned(sH, Buffer.from(c).toString("base64"));
  t["padding after the signature"] = `${h}.${p}.${s}==`;
  t["a space in the payload, signed"] = rawSigned(sH, `${sP.slice(0, 8)} ${sP.slice(8)}`);
  t["a newline in the signature"] = `${h}.${p}.${s.slice(0, 10)}\n${s.slice(10)}`;
  t["a 4n+1 payload, signed"] = rawSigned(sH, `${sP}A`);
  // the last character's unused bits set: the same bytes to a forgiving decoder
  const odd = (seg: string) => {
    if (seg.length % 4 === 0) return undefined;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(seg.at(-1) as string);
    return seg.slice(0, -1) + alphabet[last | (seg.length % 4 === 2 ? 0x0f : 0x03)];
  };
  const oddP = odd(sP);
  if (oddP !== undefined && oddP !== sP)
    t["payload with non-canonical last bits, signed"] = rawSigned(sH, oddP);
  const oddS = odd(s);
  if (oddS !== undefined && oddS !== s)
    t["signature with non-canonical last bits"] = `${h}.${p}.${oddS}`;
  const oddH = odd(sH);
  if (oddH !== undefined && oddH !== sH)
    t["header with non-canonical last bits, signed"] = rawSigned(oddH, sP);
  t["four segments"] = `${valid}.${s}`;
  t["two segments"] = `${h}.${p}`;
  t["empty"] = "";
  t["a space before"] = ` ${valid}`;

  // sizes
  t["a big claim, under the length limit"] = signed(header, claims({ pad: "x".repeat(5000) }));
  t["a huge claim, over the length limit"] = signed(header, claims({ pad: "x".repeat(9000) }));
  t["a huge header, over the length limit"] = signed(
    JSON.stringify({ alg, kid: "k1", typ: "at+jwt", x: "x".repeat(9000) }),
    claims(),
  );
  return t;
}

describe("JwtVerifier against jose's jwtVerify on generated tokens", () => {
  for (const alg of ["RS256", "ES256", "EdDSA"] as const)
    it(`${alg}: every category gets jose's verdict on the known-header path and on a first token`, async () => {
      const pair = pairOf(alg);
      const other = pairOf(alg);
      const jwk = { ...(pair.publicKey.export({ format: "jwk" }) as JWK), kid: "k1", alg };
      const get = createLocalJWKSet({ keys: [jwk] });
      const tokens = tokensFor(alg, pair.privateKey, other.privateKey, jwk);
      expect(Object.keys(tokens).length).toBeGreaterThan(80);

      const warm = new JwtVerifier(settings(alg), { get, where: "test" });
      expect((await warm.verify(tokens.valid as string, NOW)).ok).toBe(true);
      const rows: { name: string; jose: boolean; known: boolean; first: boolean }[] = [];
      let knownPath = 0;
      for (const [name, token] of Object.entries(tokens)) {
        const jose = await jwtVerify(token, get, {
          issuer: ISS,
          audience: AUD,
          algorithms: [alg],
          clockTolerance: SKEW,
          requiredClaims: ["exp"],
          currentDate: new Date(NOW),
        }).then(
          () => true,
          () => false,
        );
        warm.forget();
        const before = warm.knownHeaderChecks;
        const known = (await warm.verify(token, NOW)).ok;
        knownPath += warm.knownHeaderChecks - before;
        const first = (
          await new JwtVerifier(settings(alg), { get, where: "test" }).verify(token, NOW)
        ).ok;
        rows.push({ name, jose, known, first });
      }
      // over the limit: refused whatever jose says (jose accepts these: they are well signed)
      const expected = rows.map((r) => {
        const long = (tokens[r.name] as string).length > MAX_TOKEN_CHARS;
        return { ...r, known: long ? false : r.jose, first: long ? false : r.jose };
      });
      expect(rows).toEqual(expected);
      // the categories are what they say
      const must = (re: RegExp, ok: boolean) => {
        const hit = rows.filter((r) => re.test(r.name));
        expect(hit.length).toBeGreaterThan(0);
        for (const r of hit) expect({ name: r.name, ok: r.jose }).toEqual({ name: r.name, ok });
      };
      must(/^valid/, true);
      must(
        /^(payload|signature|header) (changed|of another|truncated|with (a|four) char|empty|by another)/,
        false,
      );
      must(/^(alg |HS256|RS38|RS256, not|crit (naming|b64|unknown)|an embedded)/, false);
      must(/^(expired (past|at)|exp missing|exp a string|nbf past|iat a string)/, false);
      must(/^(iss|aud) /, false);
      must(/^(unknown kid|kid )/, false);
      must(
        /^header (alg twice, none last|kid twice, k1 first)|payload (aud twice, the gateway first|exp twice)/,
        false,
      );
      expect(rows.find((r) => r.name === "a huge claim, over the length limit")?.jose).toBe(true);
      // most tokens keep the known header: those took the known-header path
      expect(knownPath).toBeGreaterThan(40);
    });
});
