/**
 * A real OAuth issuer for the tests, on loopback: a JWKS endpoint (keys can be rotated, the
 * endpoint taken down, fetches counted) and a token endpoint doing RFC 8693 token exchange
 * (requests recorded), tokens signed with jose.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

export interface Issuer {
  url: string;
  jwksUrl: string;
  tokenUrl: string;
  /** GETs of the JWKS so far. */
  jwksFetches: number;
  /** Token exchange requests so far (form fields). */
  exchanges: URLSearchParams[];
  /** expires_in of the exchanged tokens (default 600 s). */
  exchangeExpiresIn: number;
  /** false: the JWKS and token endpoints answer 503. */
  up: boolean;
  /** A token signed with the current key (claims override the defaults). */
  sign(
    claims?: JWTPayload,
    opts?: { alg?: string; kid?: string; key?: Parameters<SignJWT["sign"]>[0] },
  ): Promise<string>;
  /** A new key with a new kid, published in place of the old one. */
  rotate(): Promise<void>;
  /** The current public JWK (for the HS256 confusion test). */
  publicJwk(): JWK;
  kid: string;
  close(): Promise<void>;
}

export async function startIssuer(audience: string): Promise<Issuer> {
  let n = 0;
  let key = await generateKeyPair("RS256", { extractable: true });
  let jwk: JWK = { ...(await exportJWK(key.publicKey)), kid: `k${n}`, alg: "RS256", use: "sig" };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      if (!issuer.up) return res.writeHead(503).end("down");
      if (req.url === "/jwks") {
        issuer.jwksFetches++;
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify({ keys: [jwk] }));
      }
      if (req.url === "/token" && req.method === "POST") {
        const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
        issuer.exchanges.push(form);
        if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:token-exchange")
          return res.writeHead(400).end(JSON.stringify({ error: "unsupported_grant_type" }));
        // the authorization server checks the subject token itself (here: it was ours)
        const subject = form.get("subject_token") ?? "";
        const sub = JSON.parse(
          Buffer.from(subject.split(".")[1] ?? "", "base64url").toString(),
        ).sub;
        const token = await issuer.sign({
          sub,
          aud: form.get("resource") ?? "",
          scope: form.get("scope") ?? "",
        });
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(
          JSON.stringify({
            access_token: token,
            issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
            token_type: "Bearer",
            expires_in: issuer.exchangeExpiresIn,
          }),
        );
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer: Issuer = {
    url,
    jwksUrl: `${url}/jwks`,
    tokenUrl: `${url}/token`,
    jwksFetches: 0,
    exchanges: [],
    exchangeExpiresIn: 600,
    up: true,
    kid: "k0",
    async sign(claims = {}, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ scope: "mcp", ...claims })
        .setProtectedHeader({ alg: opts.alg ?? "RS256", kid: opts.kid ?? issuer.kid })
        .setIssuer(typeof claims.iss === "string" ? claims.iss : url)
        .setAudience((claims.aud as string) ?? audience)
        .setIssuedAt(now)
        .setExpirationTime(typeof claims.exp === "number" ? claims.exp : now + 600)
        .sign(opts.key ?? key.privateKey);
    },
    async rotate() {
      n++;
      key = await generateKeyPair("RS256", { extractable: true });
      jwk = { ...(await exportJWK(key.publicKey)), kid: `k${n}`, alg: "RS256", use: "sig" };
      issuer.kid = `k${n}`;
    },
    publicJwk: () => jwk,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  return issuer;
}
