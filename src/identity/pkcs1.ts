/**
 * RSASSA-PKCS1-v1_5 verification (RS256, RS384, RS512; RFC 8017 8.2.2) as "encode and compare".
 * OpenSSL raises the signature to e mod n (RSAVP1: `publicDecrypt` without padding, which
 * refuses s >= n), and the k octets that come out must equal, octet for octet, the one encoding
 * EMSA-PKCS1-v1_5 gives for the signing input's digest:
 *
 *     0x00 0x01 | 0xFF x (k - 3 - |T|) | 0x00 | T = DigestInfo(hash OID, NULL parameters, digest)
 *
 * Nothing is parsed, so no BER variant, short padding, trailing data, other hash or absent
 * parameters can pass. This accepts exactly what OpenSSL's `crypto.verify` accepts: its check
 * (`ossl_rsa_verify`) refuses a signature that is not k octets, strips the type-1 padding and
 * memcmp's the rest with the same DigestInfo, whose fixed length forces the padding's length.
 * It costs one EVP context per token instead of two (a digest context and a signature
 * context, each fetching its implementation): about 1 us of 19 on the project's VM
 * (bench/identity.bench.ts). test/identity/pkcs1.test.ts checks it against OpenSSL, token for
 * token, on hand-built encodings and changed signatures.
 */
import * as nodeCrypto from "node:crypto";
import { constants, createHash, type KeyObject, publicDecrypt } from "node:crypto";

export type RsaHash = "sha256" | "sha384" | "sha512";

/** DigestInfo's DER prefix per hash (RFC 8017 9.2, note 1): SEQUENCE { AlgorithmIdentifier { OID, NULL }, OCTET STRING (hLen) }. */
export const DIGEST_INFO: Readonly<Record<RsaHash, Buffer>> = {
  sha256: Buffer.from("3031300d060960864801650304020105000420", "hex"),
  sha384: Buffer.from("3041300d060960864801650304020205000430", "hex"),
  sha512: Buffer.from("3051300d060960864801650304020305000440", "hex"),
};
const DIGEST_BYTES: Readonly<Record<RsaHash, number>> = { sha256: 32, sha384: 48, sha512: 64 };
/** RFC 8017: the padding string has at least 8 octets. */
const MIN_PADDING = 8;

/** node:crypto's one-shot hash (Node >= 20.12), else a Hash object. */
const oneShot = (nodeCrypto as { hash?: (a: string, d: string, e: "buffer") => Buffer }).hash;
const digestOf = (h: RsaHash, input: string): Buffer =>
  oneShot !== undefined ? oneShot(h, input, "buffer") : createHash(h).update(input).digest();

/** EM without its digest (the last hLen octets), per hash and modulus octets. */
const heads = new Map<string, Buffer>();

/** The encoding's first k - hLen octets for a k-octet modulus (undefined: k is too small). */
export function encodingHead(h: RsaHash, k: number): Buffer | undefined {
  const id = `${h}:${k}`;
  let head = heads.get(id);
  if (head === undefined) {
    const t = DIGEST_INFO[h];
    const ps = k - 3 - t.length - DIGEST_BYTES[h];
    if (!Number.isInteger(ps) || ps < MIN_PADDING) return undefined;
    head = Buffer.alloc(k - DIGEST_BYTES[h], 0xff);
    head[0] = 0x00;
    head[1] = 0x01;
    head[2 + ps] = 0x00;
    t.copy(head, 3 + ps);
    heads.set(id, head);
  }
  return head;
}

/**
 * Does `sig` verify as an RSASSA-PKCS1-v1_5 signature with `h` of `input` (an ASCII string: the
 * JWS signing input) under `key`, an RSA public key of `k` octets (ceil(modulus bits / 8))?
 * Throws when OpenSSL refuses the signature as a number (s >= n): no signature, let the caller's
 * slower path say so.
 */
export function pkcs1Verifies(
  key: KeyObject,
  k: number,
  h: RsaHash,
  input: string,
  sig: Buffer,
): boolean {
  const head = encodingHead(h, k);
  if (head === undefined || sig.length !== k) return false;
  const em = publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, sig);
  if (em.length !== k) return false;
  const digest = digestOf(h, input);
  // both halves compared whole, by memcmp as OpenSSL's own check does: nothing here is secret
  // (the signature, the key and the signing input are all public), so no constant-time
  // compare is needed; two of those (timingSafeEqual on two subarrays) cost ~0.2 us a token
  return (
    em.compare(head, 0, head.length, 0, head.length) === 0 &&
    em.compare(digest, 0, digest.length, head.length, k) === 0
  );
}
