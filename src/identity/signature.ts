/**
 * A JWT's signature checked with node:crypto (OpenSSL, synchronously) on the very key jose's JWKS
 * lookup returned. jose 6 verifies with WebCrypto, whose `subtle.verify` runs on libuv's thread
 * pool: measured on the project's 2-core VM (bench/identity.bench.ts), that hop and its awaits
 * cost more than the RS256 verify itself. Only the signature step moves here, and only for plain
 * tokens (see `plainHeader`); everything else (header parsing, the algorithm allow-list, the
 * key lookup, the claims) stays jose's, and anything unusual takes jose's whole path.
 */
import { constants, KeyObject, verify, type webcrypto } from "node:crypto";
import { pkcs1Verifies, type RsaHash } from "./pkcs1.js";

/** WebCrypto's key class (a global in Node 20; not in this project's TypeScript libs). */
const CryptoKeyClass = (globalThis as { CryptoKey?: abstract new () => webcrypto.CryptoKey })
  .CryptoKey;

interface Scheme {
  readonly hash: string | null;
  readonly kind: "rsa" | "pss" | "ec" | "ed25519";
  /** ES*: the key's curve (OpenSSL name) and the signature's length (r || s). */
  readonly curve?: string;
  readonly sigBytes?: number;
  /** PS*: the salt length (the hash's). */
  readonly salt?: number;
}

const SCHEMES: Readonly<Record<string, Scheme>> = {
  RS256: { hash: "sha256", kind: "rsa" },
  RS384: { hash: "sha384", kind: "rsa" },
  RS512: { hash: "sha512", kind: "rsa" },
  PS256: { hash: "sha256", kind: "pss", salt: 32 },
  PS384: { hash: "sha384", kind: "pss", salt: 48 },
  PS512: { hash: "sha512", kind: "pss", salt: 64 },
  ES256: { hash: "sha256", kind: "ec", curve: "prime256v1", sigBytes: 64 },
  ES384: { hash: "sha384", kind: "ec", curve: "secp384r1", sigBytes: 96 },
  ES512: { hash: "sha512", kind: "ec", curve: "secp521r1", sigBytes: 132 },
  EdDSA: { hash: null, kind: "ed25519" },
  Ed25519: { hash: null, kind: "ed25519" },
};

/** The smallest RSA key jose accepts (its `minRsaBits`); smaller ones take jose's path (refused). */
const MIN_RSA_BITS = 2048;
/** A compact JWS of base64url parts only (anything else takes jose's path). */
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** The header members a plain access token has (RFC 9068: alg, kid, typ). */
const PLAIN = new Set(["alg", "kid", "typ"]);

/** Can `alg` be checked here? */
export const hasScheme = (alg: string): boolean => Object.hasOwn(SCHEMES, alg);

/** Is `token` a compact JWS of base64url parts, with a signature of a decodable length? */
export function isCompact(token: string): boolean {
  return COMPACT.test(token) && (token.length - token.lastIndexOf(".") - 1) % 4 !== 1;
}

/** A header with nothing but alg (a string), kid and typ (strings if present). */
export function plainHeader(h: Record<string, unknown>): h is { alg: string; kid?: string } {
  for (const k of Object.keys(h)) if (!PLAIN.has(k)) return false;
  return (
    typeof h.alg === "string" &&
    (h.kid === undefined || typeof h.kid === "string") &&
    (h.typ === undefined || typeof h.typ === "string")
  );
}

const objects = new WeakMap<object, KeyObject | null>();

/**
 * The KeyObject of `key` (a CryptoKey or KeyObject jose's JWKS lookup returned) if it is a
 * public verification key fit for `alg`, as jose's own checks would have it; undefined (take
 * jose's path) otherwise.
 */
export function keyFor(key: unknown, alg: string): KeyObject | undefined {
  const s = SCHEMES[alg];
  if (s === undefined || typeof key !== "object" || key === null) return undefined;
  let k = objects.get(key);
  if (k === undefined) {
    k = null;
    try {
      if (key instanceof KeyObject) k = key;
      else if (
        CryptoKeyClass !== undefined &&
        key instanceof CryptoKeyClass &&
        key.usages.includes("verify")
      )
        k = KeyObject.from(key);
    } catch {}
    objects.set(key, k);
  }
  if (k === null || k.type !== "public") return undefined;
  const d = k.asymmetricKeyDetails ?? {};
  switch (s.kind) {
    case "rsa":
      return k.asymmetricKeyType === "rsa" && (d.modulusLength ?? 0) >= MIN_RSA_BITS
        ? k
        : undefined;
    case "pss":
      return (k.asymmetricKeyType === "rsa" || k.asymmetricKeyType === "rsa-pss") &&
        (d.modulusLength ?? 0) >= MIN_RSA_BITS
        ? k
        : undefined;
    case "ec":
      return k.asymmetricKeyType === "ec" && d.namedCurve === s.curve ? k : undefined;
    case "ed25519":
      return k.asymmetricKeyType === "ed25519" ? k : undefined;
  }
}

/**
 * Does the signature of `token` (a compact JWS, isCompact) verify with `key` (keyFor) under
 * `alg`? Throws when OpenSSL cannot say (then jose's path decides). RS* are checked by
 * pkcs1.ts (the same verdict as node:crypto's verify, one EVP context fewer).
 */
export function signatureVerifies(token: string, alg: string, key: KeyObject): boolean {
  const s = SCHEMES[alg] as Scheme;
  const dot = token.lastIndexOf(".");
  const sig = Buffer.from(token.slice(dot + 1), "base64url");
  if (s.sigBytes !== undefined && sig.length !== s.sigBytes) return false;
  if (s.kind === "rsa") {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    return pkcs1Verifies(key, Math.ceil(bits / 8), s.hash as RsaHash, token.slice(0, dot), sig);
  }
  const data = Buffer.from(token.slice(0, dot), "latin1");
  if (s.kind === "pss")
    return verify(
      s.hash,
      data,
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: s.salt },
      sig,
    );
  if (s.kind === "ec") return verify(s.hash, data, { key, dsaEncoding: "ieee-p1363" }, sig);
  return verify(s.hash, data, key, sig);
}
