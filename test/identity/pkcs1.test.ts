// RS256/RS384/RS512 signatures are checked by src/identity/pkcs1.ts (raw RSA through OpenSSL, then
// the one EMSA-PKCS1-v1_5 encoding compared whole), not by node:crypto's verify: it must say what
// OpenSSL says, signature for signature. Each signature here is a hand-built encoding raised to
// the private exponent (so the RSA step gives exactly that encoding back): short padding,
// trailing bytes, BER lengths, absent NULL parameters, another hash's OID, every octet changed
// in turn; and numbers that are no signature at all (>= n, 0, 1, too short, too long).
import {
  constants,
  createHash,
  generateKeyPairSync,
  type KeyObject,
  privateDecrypt,
  publicDecrypt,
  randomBytes,
  sign,
  verify,
} from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  DIGEST_INFO,
  encodingHead,
  pkcs1Verifies,
  type RsaHash,
} from "../../src/identity/pkcs1.js";

const HASHES: readonly RsaHash[] = ["sha256", "sha384", "sha512"];
const SHA1_INFO = Buffer.from("3021300906052b0e03021a05000414", "hex");

/** x^d mod n: the "signature" whose public RSA step gives `em` back. */
const raise = (priv: KeyObject, em: Buffer) =>
  privateDecrypt({ key: priv, padding: constants.RSA_NO_PADDING }, em);

/** 0x00 0x01 FF.. 0x00 | t, left-filled to k octets with `ps` FF (the rest of the length: zeros first). */
function encode(k: number, t: Buffer, ps?: number, lead = Buffer.from([0x00, 0x01])) {
  const n = ps ?? k - lead.length - 1 - t.length;
  const body = Buffer.concat([lead, Buffer.alloc(n, 0xff), Buffer.from([0x00]), t]);
  return Buffer.concat([Buffer.alloc(Math.max(0, k - body.length)), body]).subarray(-k);
}

/** OpenSSL's verdict (crypto.verify) and pkcs1.ts's (a throw: refused) on one signature. */
function verdicts(pub: KeyObject, k: number, h: RsaHash, input: string, sig: Buffer) {
  let ours: boolean;
  try {
    ours = pkcs1Verifies(pub, k, h, input, sig);
  } catch {
    ours = false;
  }
  return { ours, openssl: verify(h, Buffer.from(input, "latin1"), pub, sig) };
}

describe("pkcs1.ts: RSASSA-PKCS1-v1_5 verified as OpenSSL verifies it", () => {
  // 2050 bits: a modulus of 257 octets (not bits / 8)
  for (const bits of [2048, 2050])
    it(`RSA-${bits}: hand-built encodings and changed signatures get OpenSSL's verdict`, () => {
      const { publicKey: pub, privateKey: priv } = generateKeyPairSync("rsa", {
        modulusLength: bits,
      });
      const k = Math.ceil(bits / 8);
      const n = Buffer.from(pub.export({ format: "jwk" }).n as string, "base64url");
      const input = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9";
      let checked = 0;
      const expectSame = (h: RsaHash, sig: Buffer, valid = false) => {
        const v = verdicts(pub, k, h, input, sig);
        expect({ h, sig: sig.toString("hex"), ...v }).toEqual({
          h,
          sig: sig.toString("hex"),
          ours: valid,
          openssl: valid,
        });
        checked++;
      };
      for (const h of HASHES) {
        const digest = createHash(h).update(input).digest();
        const t = Buffer.concat([DIGEST_INFO[h], digest]);
        const good = encode(k, t);
        // the encoding is OpenSSL's own: a signature it made raises back to the same octets
        const real = sign(h, Buffer.from(input, "latin1"), priv);
        expect(publicDecrypt({ key: pub, padding: constants.RSA_NO_PADDING }, real)).toEqual(good);
        expectSame(h, real, true);
        expectSame(h, raise(priv, good), true);
        expect(encodingHead(h, k)?.length).toBe(k - digest.length);
        const variants: Buffer[] = [
          encode(k, t, 7, Buffer.from([0x00, 0x01])), // 7 FF bytes (zeros in front)
          encode(k, Buffer.concat([t, Buffer.from([0x00])]), undefined), // a trailing byte
          encode(k, Buffer.concat([t, randomBytes(8)])), // trailing garbage (Bleichenbacher 2006)
          encode(k, t, undefined, Buffer.from([0x00, 0x02])), // block type 2
          encode(k, t, undefined, Buffer.from([0x01])), // no leading zero
          encode(k, t, undefined, Buffer.from([0x00, 0x00, 0x01])),
          // DigestInfo without the NULL parameters
          encode(k, Buffer.concat([absentNull(DIGEST_INFO[h]), digest])),
          // BER: long-form lengths for the outer SEQUENCE and the digest
          encode(k, Buffer.concat([berLong(DIGEST_INFO[h]), digest])),
          // another hash's OID over this hash's digest, and over its own digest
          ...HASHES.filter((o) => o !== h).flatMap((o) => [
            encode(
              k,
              Buffer.concat([DIGEST_INFO[o].subarray(0, 15), DIGEST_INFO[h].subarray(15), digest]),
            ),
            encode(k, Buffer.concat([DIGEST_INFO[o], createHash(o).update(input).digest()])),
          ]),
          encode(k, Buffer.concat([SHA1_INFO, createHash("sha1").update(input).digest()])),
          // the digest alone (no DigestInfo), the digest of another input
          encode(k, digest),
          encode(k, Buffer.concat([DIGEST_INFO[h], createHash(h).update(`${input}x`).digest()])),
        ];
        // a padding byte that is not FF, the separator not zero
        const notFF = Buffer.from(good);
        notFF[10] = 0xfe;
        const sep = Buffer.from(good);
        sep[k - t.length - 1] = 0x01;
        variants.push(notFF, sep);
        for (const em of variants) expectSame(h, raise(priv, em));
        // every octet of the encoding changed in turn (one bit of the first: stays below n)
        for (let i = 0; i < k; i++) {
          const em = Buffer.from(good);
          em[i] = i === 0 ? 0x01 : (em[i] as number) ^ (1 + (i % 255));
          expectSame(h, raise(priv, em));
        }
        // numbers that are no signature: n, n + 1, all ones, 0, 1, n - 1
        const plus = (b: Buffer, d: number) => {
          const x = BigInt(`0x${b.toString("hex")}`) + BigInt(d);
          return Buffer.from(x.toString(16).padStart(2 * k, "0"), "hex").subarray(-k);
        };
        const nk = Buffer.concat([Buffer.alloc(k - n.length), n]);
        for (const sig of [
          nk,
          plus(nk, 1),
          Buffer.alloc(k, 0xff),
          Buffer.alloc(k),
          plus(Buffer.alloc(k), 1),
          plus(nk, -1),
        ])
          expectSame(h, sig);
        // too short (the leading octet dropped, or one more dropped), too long (a zero in front)
        const s = raise(priv, good);
        expectSame(h, s.subarray(1));
        expectSame(h, Buffer.concat([Buffer.from([0]), s]));
        expectSame(h, Buffer.concat([Buffer.from([0]), s]).subarray(0, k - 1));
        // random signatures
        for (let i = 0; i < 20; i++) expectSame(h, randomBytes(k));
      }
      expect(checked).toBeGreaterThan(3 * (k + 30));
    });

  it("refuses keys whose encoding cannot hold the padding (no signature passes)", () => {
    expect(encodingHead("sha512", 64)).toBeUndefined();
    expect(encodingHead("sha256", 256)?.subarray(0, 3)).toEqual(Buffer.from([0, 1, 0xff]));
  });
});

/** The DigestInfo prefix without the AlgorithmIdentifier's NULL (lengths fixed up). */
function absentNull(prefix: Buffer): Buffer {
  const b = Buffer.from(prefix);
  const out = Buffer.concat([b.subarray(0, 4), b.subarray(4, 15), b.subarray(17)]);
  out[1] = (b[1] as number) - 2;
  out[3] = (b[3] as number) - 2;
  return out;
}

/** The DigestInfo prefix with the outer SEQUENCE's length in long form (0x81 len). */
function berLong(prefix: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x30, 0x81, prefix[1] as number]), prefix.subarray(2)]);
}
