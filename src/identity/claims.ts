/**
 * The claims of a token whose signature verified, decoded and checked as jose's `jwtVerify`
 * checks them for the verifier's options (jose 6, lib/jwt_claims_set.js `validateClaimsSet` with
 * `issuer`, `audience`, `requiredClaims: ["exp"]`, `clockTolerance`), throwing jose's error
 * classes with the same claim names, so that the verifier's refusals read the same on every
 * path. jose's `UnsecuredJWT.decode`, which did this before, cost ~4.5 us a token (a second
 * header to parse, option normalisation, a Date); this costs ~1.5. Every rule below is jose's:
 * test/identity/claims.test.ts checks the verdicts against jwtVerify's, case for case.
 */
import { isAscii } from "node:buffer";
import { errors, type JWTPayload } from "jose";

/** jose's decoder: strict UTF-8 (a bad sequence is an error), a leading BOM skipped. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
/** The text of `bytes` as jose's decoder reads it; ASCII (the usual claims) without ICU. */
const utf8 = (bytes: Buffer): string =>
  isAscii(bytes) ? bytes.toString("latin1") : strictUtf8.decode(bytes);

export interface ClaimRules {
  readonly issuer: string;
  readonly audience: string;
  /** Clock skew tolerated for exp and nbf, seconds. */
  readonly tolerance: number;
}

const failed = (claims: JWTPayload, claim: string, message: string, reason = "check_failed") =>
  new errors.JWTClaimValidationFailed(message, claims, claim, reason);

const missing = (claims: JWTPayload, claim: string) =>
  failed(claims, claim, `missing required "${claim}" claim`, "missing");

/** A NumericDate claim: absent, or a number (else refused, as jose's validateNumericDate). */
function numericDate(claims: JWTPayload, claim: "iat" | "nbf" | "exp"): number | undefined {
  const v = claims[claim];
  if (v === undefined) return undefined;
  if (typeof v !== "number")
    throw failed(claims, claim, `"${claim}" claim must be a number`, "invalid");
  return v;
}

/**
 * The claims of `segment` (the payload part of a compact JWS, base64url characters only) if
 * they hold for `rules` at `now` (ms since the epoch). Throws jose's errors otherwise.
 */
export function checkedClaims(segment: string, rules: ClaimRules, now: number): JWTPayload {
  // base64url as jose decodes it (atob): a length of 4n+1 is no encoding
  if (segment.length % 4 === 1)
    throw new errors.JWSInvalid("Failed to base64url decode the payload");
  let claims: unknown;
  try {
    claims = JSON.parse(utf8(Buffer.from(segment, "base64url")));
  } catch (cause) {
    throw new errors.JWTInvalid("JWT Claims Set must be a top-level JSON object", { cause });
  }
  // JSON.parse makes plain objects and arrays only
  if (typeof claims !== "object" || claims === null || Array.isArray(claims))
    throw new errors.JWTInvalid("JWT Claims Set must be a top-level JSON object");
  const c = claims as JWTPayload;
  // jose's order (iss, aud, exp), written out: a loop over a list cost ~0.5 us a token
  if (!Object.hasOwn(c, "iss")) throw missing(c, "iss");
  if (!Object.hasOwn(c, "aud")) throw missing(c, "aud");
  if (!Object.hasOwn(c, "exp")) throw missing(c, "exp");
  if (c.iss !== rules.issuer) throw failed(c, "iss", 'unexpected "iss" claim value');
  const aud = c.aud;
  if (!(aud === rules.audience || (Array.isArray(aud) && aud.includes(rules.audience))))
    throw failed(c, "aud", 'unexpected "aud" claim value');
  const seconds = Math.floor(now / 1000);
  numericDate(c, "iat");
  const nbf = numericDate(c, "nbf");
  if (nbf !== undefined && nbf > seconds + rules.tolerance)
    throw failed(c, "nbf", '"nbf" claim timestamp check failed');
  const exp = numericDate(c, "exp");
  if (exp !== undefined && exp <= seconds - rules.tolerance)
    throw new errors.JWTExpired('"exp" claim timestamp check failed', c, "exp", "check_failed");
  return c;
}
