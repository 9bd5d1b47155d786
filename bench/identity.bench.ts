/**
 * Checking an OAuth access token at the gateway's HTTP front (docs/identity.md): the identity
 * layer's JwtVerifier with the issuer's key already cached (a local JWKS: no fetch), as each
 * request pays it. "seen before" is a client's next request with the same token (the verified
 * tokens are remembered by their exact text); "signature checked" is a token's first request
 * (the remembered tokens are forgotten before each one), per algorithm. Goal (issue 24): a
 * check with a cached key <= 20 us p50.
 */
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from "jose";
import type { OAuthSettings } from "../src/identity/index.js";
import { JwtVerifier } from "../src/identity/index.js";
import type { Harness } from "./harness.js";

const ISS = "https://idp.bench";
const AUD = "https://gw.bench/mcp";
const GOAL = "goal (issue 24): <= 20 us p50 with a cached key";

async function verifierFor(alg: "RS256" | "ES256" | "EdDSA") {
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
  const v = new JwtVerifier(settings, { get: createLocalJWKSet({ keys: [jwk] }), where: "bench" });
  const token = await new SignJWT({ sub: "alice", groups: ["eng"], scope: "mcp tools" })
    .setProtectedHeader({ alg, kid: "k1" })
    .setIssuer(ISS)
    .setAudience(AUD)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(privateKey);
  const first = await v.verify(token);
  if (!first.ok) throw new Error(`bench token refused: ${first.message}`);
  return { v, token };
}

export default async function (h: Harness): Promise<void> {
  const rs = await verifierFor("RS256");
  await h.measureAsync(
    "JWT check, token seen before (RS256, cached key)",
    () => rs.v.verify(rs.token),
    {
      note: GOAL,
    },
  );
  for (const alg of ["RS256", "ES256", "EdDSA"] as const) {
    const b = alg === "RS256" ? rs : await verifierFor(alg);
    await h.measureAsync(
      `JWT check, signature checked (${alg}, cached key)`,
      () => {
        b.v.forget();
        return b.v.verify(b.token);
      },
      { note: "a token's first request: jose + WebCrypto verify" },
    );
  }
}
