/**
 * Access tokens as a resource server checks them (the MCP authorization spec, RFC 9068 profile):
 * a JWT verified by jose against the issuer's keys (jwks.ts), with `iss`, `aud` (the gateway's
 * own resource URI: a token minted for another resource is refused), `exp` (required) and `nbf`
 * within `clock_skew_seconds`, and only the algorithms of `auth.oauth.algorithms` (asymmetric:
 * `none` and HS* are never accepted). A plain token's signature is checked with node:crypto on
 * the key jose looked up (signature.ts), the rest by jose. A token verified once is remembered
 * (by its exact text, for at most a minute, never past its `exp`, and only until the issuer's
 * keys are fetched again), so a client's next requests cost a Map lookup.
 */
import type { KeyObject } from "node:crypto";
import { decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from "jose";
import { type ClaimRules, checkedClaims } from "./claims.js";
import { type KeyGetter, type KeySource, keySource } from "./jwks.js";
import { hasScheme, isCompact, keyFor, plainHeader, signatureVerifies } from "./signature.js";
import type { OAuthSettings, Principal } from "./types.js";

/** Tokens remembered as verified, at most. */
export const MAX_VERIFIED = 4096;
/** A verified token is verified again after this long, whatever its exp (key rotation). */
export const VERIFIED_FOR_MS = 60_000;
/** Headers (their exact text) remembered with their key, at most (an issuer uses a few). */
export const MAX_HEADERS = 64;
/** The longest token accepted (the HTTP head is bounded too). */
export const MAX_TOKEN_CHARS = 8192;
/** A caller name taken from a token: no control, format or space characters, 256 at most. */
const BAD_SUBJECT = /[\p{Cc}\p{Cf}\p{Z}]/u;

/** Why a token was not accepted; `status` is the HTTP answer (401, 403, 503). */
export interface Refused {
  readonly ok: false;
  readonly status: 401 | 403 | 503;
  readonly code: "token_invalid" | "insufficient_scope" | "issuer_unavailable";
  readonly message: string;
}
export type Verdict = { readonly ok: true; readonly principal: Principal } | Refused;

/** The issuer could not be asked (its keys did not arrive). */
class IssuerDown extends Error {}

/** A header seen on a token whose signature verified: its algorithm and key, under `epoch`. */
interface KnownHeader {
  readonly alg: string;
  readonly key: KeyObject;
  readonly epoch: number;
}

/**
 * What a remembered token is found by: a 30-bit number made of its length and its last 8
 * characters (the end of its signature), as hashing a fresh 600-character string cost ~1 us a
 * request, and a string key of its last 32 characters ~0.3 us more than a number inside a first
 * sight (the map's keys are strings elsewhere in memory; small integers sit in the table). A hit
 * counts only when the whole text is the token's (one string compare); an entry under the same
 * key is replaced (another token of the same ending is checked whole).
 */
function memoKey(token: string): number {
  let h = token.length;
  for (let i = Math.max(0, token.length - 8); i < token.length; i++)
    h = (Math.imul(h, 31) + token.charCodeAt(i)) | 0;
  return h & 0x3fffffff;
}

const invalid = (message: string): Refused => ({
  ok: false,
  status: 401,
  code: "token_invalid",
  message,
});

function strings(v: unknown): string[] {
  if (typeof v === "string") return v === "" ? [] : [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** Scopes of a token: `scope` (space-separated, RFC 9068) or `scp` (a list or a string). */
export function scopesOf(p: JWTPayload): string[] {
  if (typeof p.scope === "string") return p.scope.split(" ").filter((s) => s !== "");
  return strings(p.scp).flatMap((s) => s.split(" ").filter((x) => x !== ""));
}

export class JwtVerifier {
  readonly #s: OAuthSettings;
  readonly #keys: KeySource;
  readonly #getKey: KeyGetter;
  readonly #verified = new Map<number, { p: Principal; until: number; epoch: number }>();
  readonly #algorithms: ReadonlySet<string>;
  readonly #rules: ClaimRules;
  /** Header text -> its key, for headers seen on verified tokens (see #known). */
  readonly #headers = new Map<string, KnownHeader>();
  /** Times the signature path ran (for tests and the bench). */
  signatureChecks = 0;
  /** Of those, the times jose's whole path ran (a token that is not plain; for tests). */
  joseChecks = 0;
  /** Of those, the times the header was known (no header parsing, no key lookup; for tests). */
  knownHeaderChecks = 0;

  constructor(s: OAuthSettings, keys: KeySource = keySource(s)) {
    this.#s = s;
    this.#keys = keys;
    this.#algorithms = new Set(s.algorithms);
    this.#rules = { issuer: s.issuer, audience: s.audience, tolerance: s.clockSkewSeconds };
    const get = keys.get;
    this.#getKey = (async (h: Parameters<KeyGetter>[0], t: Parameters<KeyGetter>[1]) => {
      try {
        return await get(h, t);
      } catch (e) {
        if (
          e instanceof errors.JWKSNoMatchingKey ||
          e instanceof errors.JWKSMultipleMatchingKeys ||
          e instanceof errors.JOSENotSupported
        )
          throw e;
        throw new IssuerDown((e as Error).message, { cause: e });
      }
    }) as unknown as KeyGetter;
  }

  /**
   * Forget the tokens remembered as verified (e.g. after the keys changed). The headers known
   * with their keys stay: they are tied to the keys' epoch already.
   */
  forget(): void {
    this.#verified.clear();
  }

  /** The epoch of the keys in force (0: they never change; undefined: a fetch is under way). */
  #epoch(): number | undefined {
    return this.#keys.epoch === undefined ? 0 : this.#keys.epoch();
  }

  /** What the issuer's keys look like now (remote keys only), for /readyz. */
  keysState() {
    return this.#keys.state?.();
  }

  /**
   * Check a bearer token: who it names, or why it is refused. A remembered token and a token of
   * a known header are settled without an async function (only the long way, jose's key
   * lookup, awaits). Never throws: anything unexpected is a rejected promise.
   */
  verify(token: string, now = Date.now()): Promise<Verdict> {
    try {
      const key = memoKey(token);
      const hit = this.#verified.get(key);
      if (hit !== undefined && hit.p.token === token) {
        if (now < hit.until && hit.epoch === this.#epoch())
          return Promise.resolve({ ok: true, principal: hit.p });
        this.#verified.delete(key);
      }
      if (token.length > MAX_TOKEN_CHARS)
        return Promise.resolve(invalid(`the token is longer than ${MAX_TOKEN_CHARS} characters`));
      const epoch = this.#epoch();
      this.signatureChecks++;
      let payload: JWTPayload | undefined;
      try {
        payload = this.#known(token, epoch, now);
      } catch (e) {
        return Promise.resolve(this.#why(e));
      }
      if (payload === undefined) return this.#long(token, key, epoch, now);
      return Promise.resolve(this.#accepted(token, key, payload, epoch, now));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The long way: jose's key lookup (and jose whole for a token that is not plain). */
  async #long(token: string, key: number, epoch: number | undefined, now: number) {
    let payload: JWTPayload;
    try {
      payload = await this.#payload(token, epoch, now);
    } catch (e) {
      return this.#why(e);
    }
    return this.#accepted(token, key, payload, epoch, now);
  }

  /**
   * The verdict on a token whose signature and claims verified: its caller (the subject claim),
   * groups and scopes, refused without the required scopes; remembered under `key` unless the
   * keys changed meanwhile.
   */
  #accepted(
    token: string,
    key: number,
    payload: JWTPayload,
    epoch: number | undefined,
    now: number,
  ): Verdict {
    const s = this.#s;
    const sub = payload[s.subjectClaim];
    if (typeof sub !== "string" || sub === "" || sub.length > 256 || BAD_SUBJECT.test(sub))
      return invalid(
        `the token's "${s.subjectClaim}" claim (auth.oauth.subject_claim) is missing or is not a name (a string of 1 to 256 characters without spaces or control characters)`,
      );
    const scopes = scopesOf(payload);
    const principal: Principal = Object.freeze({
      caller: sub,
      groups: Object.freeze(strings(payload[s.groupsClaim])),
      scopes: Object.freeze(scopes),
      token,
      exp: payload.exp as number,
    });
    for (const x of s.requiredScopes)
      if (!scopes.includes(x)) {
        const missing = s.requiredScopes.filter((y) => !scopes.includes(y));
        return {
          ok: false,
          status: 403,
          code: "insufficient_scope",
          message: `the token of "${sub}" lacks the scope${missing.length > 1 ? "s" : ""} ${missing.join(" ")} (auth.oauth.required_scopes); ask the authorization server for a token with them`,
        };
      }
    if (this.#verified.size >= MAX_VERIFIED) {
      const oldest = this.#verified.keys().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
    const until = Math.min(now + VERIFIED_FOR_MS, (principal.exp + s.clockSkewSeconds) * 1000);
    // verified with keys that a fetch replaced meanwhile, or may have: not remembered
    if (epoch !== undefined && epoch === this.#epoch())
      this.#verified.set(key, { p: principal, until, epoch });
    return { ok: true, principal };
  }

  /**
   * The verified claims of `token` if its header (the exact text) was seen on a token whose
   * signature verified, under the keys in force (same epoch, not due for a refresh): then the
   * header's parsing, the allow-list and jose's key lookup gave that key before and would give
   * it again, so only the signature (node:crypto) and the claims (claims.ts) are checked, with
   * no await. Undefined: take #payload's way. Throws jose's errors (a signature that does not
   * verify, a claim that does not hold).
   */
  #known(token: string, epoch: number | undefined, now: number): JWTPayload | undefined {
    if (epoch === undefined || this.#keys.fresh?.() === false) return undefined;
    const dot = token.indexOf(".");
    const known = dot > 0 ? this.#headers.get(token.slice(0, dot)) : undefined;
    if (known === undefined || known.epoch !== epoch || !isCompact(token)) return undefined;
    let ok: boolean;
    try {
      ok = signatureVerifies(token, known.alg, known.key);
    } catch {
      return undefined;
    }
    this.knownHeaderChecks++;
    if (!ok) throw new errors.JWSSignatureVerificationFailed();
    return checkedClaims(token.slice(dot + 1, token.lastIndexOf(".")), this.#rules, now);
  }

  /**
   * The verified claims of `token`. A plain token (compact, header of alg/kid/typ only, an
   * allowed algorithm) has its key looked up by jose's key set, its signature checked by
   * node:crypto on that key, and its claims checked as jose checks them (claims.ts); its header
   * is then known (#known). Any other token, or a key node:crypto is not given, goes through
   * jose's jwtVerify whole. Throws jose's errors.
   */
  async #payload(token: string, epoch: number | undefined, now: number): Promise<JWTPayload> {
    const s = this.#s;
    const whole = async () => {
      this.joseChecks++;
      const r = await jwtVerify(token, this.#getKey, {
        issuer: s.issuer,
        audience: s.audience,
        clockTolerance: s.clockSkewSeconds,
        requiredClaims: ["exp"],
        currentDate: new Date(now),
        algorithms: [...s.algorithms],
      });
      return r.payload;
    };
    if (!isCompact(token)) return whole();
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(token) as Record<string, unknown>;
    } catch {
      return whole();
    }
    if (!plainHeader(header) || !this.#algorithms.has(header.alg) || !hasScheme(header.alg))
      return whole();
    const [protectedHeader, payload, signature] = token.split(".") as [string, string, string];
    const key = await this.#getKey(header, { protected: protectedHeader, payload, signature });
    const k = keyFor(key, header.alg);
    if (k === undefined) return whole();
    let ok: boolean;
    try {
      ok = signatureVerifies(token, header.alg, k);
    } catch {
      return whole();
    }
    if (!ok) throw new errors.JWSSignatureVerificationFailed();
    // the key jose gave for this header under these keys (a fetch meanwhile: not remembered)
    if (epoch !== undefined && epoch === this.#epoch()) {
      if (this.#headers.size >= MAX_HEADERS) {
        const oldest = this.#headers.keys().next().value;
        if (oldest !== undefined) this.#headers.delete(oldest);
      }
      this.#headers.set(protectedHeader, { alg: header.alg, key: k, epoch });
    }
    return checkedClaims(payload, this.#rules, now);
  }

  #why(e: unknown): Refused {
    const s = this.#s;
    if (e instanceof IssuerDown)
      return {
        ok: false,
        status: 503,
        code: "issuer_unavailable",
        message: `cannot check tokens: the issuer's keys at ${this.#keys.where} could not be fetched (${e.message}); the gateway refuses every token until they can (fail closed)`,
      };
    if (e instanceof errors.JWTExpired)
      return invalid(`the token expired (exp, with ${s.clockSkewSeconds} s of clock skew)`);
    if (e instanceof errors.JWTClaimValidationFailed) {
      if (e.claim === "aud")
        return invalid(
          `the token is not for this gateway: its audience is not ${s.audience} (auth.oauth.audience); ask for a token for this resource`,
        );
      if (e.claim === "iss")
        return invalid(`the token was not issued by ${s.issuer} (auth.oauth.issuer)`);
      if (e.claim === "nbf") return invalid("the token is not valid yet (nbf)");
      return invalid(`the token's "${e.claim}" claim is wrong or missing: ${e.message}`);
    }
    if (e instanceof errors.JOSEAlgNotAllowed)
      return invalid(
        `the token's algorithm is not one of auth.oauth.algorithms (${s.algorithms.join(", ")})`,
      );
    if (e instanceof errors.JWKSNoMatchingKey)
      return invalid(
        `no key of the issuer (${this.#keys.where}) matches the token's kid and algorithm`,
      );
    if (e instanceof errors.JWSSignatureVerificationFailed)
      return invalid("the token's signature does not verify");
    if (e instanceof errors.JOSEError) return invalid(`the token is malformed: ${e.message}`);
    return invalid(`the token cannot be checked: ${(e as Error).message}`);
  }
}
