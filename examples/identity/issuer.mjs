#!/usr/bin/env node
// A tiny OAuth issuer for trying examples/identity/warden.yaml on one machine (never for real
// use: it signs whatever it is asked). It makes a fresh RS256 key, serves its JWKS at /jwks and
// a token exchange endpoint (RFC 8693) at /token on http://127.0.0.1:9400, and prints two access
// tokens for the gateway's resource (http://127.0.0.1:8931/mcp), one line each:
//   ALICE_TOKEN=...   (groups: eng; may read files)
//   BOB_TOKEN=...     (groups: sales; may only search)
// Usage: node examples/identity/issuer.mjs [--port 9400] [--audience http://127.0.0.1:8931/mcp]
import { createServer } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const port = Number(arg("--port", "9400"));
const audience = arg("--audience", "http://127.0.0.1:8931/mcp");
const issuer = `http://127.0.0.1:${port}`;
const { publicKey, privateKey } = await generateKeyPair("RS256");
const jwk = { ...(await exportJWK(publicKey)), kid: "example-1", alg: "RS256", use: "sig" };

const sign = (claims, aud = audience) =>
  new SignJWT({ scope: "mcp", ...claims })
    .setProtectedHeader({ alg: "RS256", kid: jwk.kid })
    .setIssuer(issuer)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime("8h")
    .sign(privateKey);

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    const json = (status, body) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.method === "GET" && req.url === "/jwks") return json(200, { keys: [jwk] });
    if (req.method === "POST" && req.url === "/token") {
      // token exchange: a token for the upstream named by `resource`, for the same subject
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:token-exchange")
        return json(400, { error: "unsupported_grant_type" });
      const subject = form.get("subject_token") ?? "";
      const claims = JSON.parse(Buffer.from(subject.split(".")[1] ?? "", "base64url").toString());
      const token = await sign(
        { sub: claims.sub, scope: form.get("scope") ?? "" },
        form.get("resource"),
      );
      return json(200, {
        access_token: token,
        issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
        token_type: "Bearer",
        expires_in: 3600,
      });
    }
    json(404, { error: "not_found" });
  });
});

server.listen(port, "127.0.0.1", async () => {
  process.stdout.write(`ALICE_TOKEN=${await sign({ sub: "alice", groups: ["eng"] })}\n`);
  process.stdout.write(`BOB_TOKEN=${await sign({ sub: "bob", groups: ["sales"] })}\n`);
  process.stderr.write(
    `issuer listening on ${issuer} (JWKS ${issuer}/jwks, token exchange ${issuer}/token)\n`,
  );
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
process.on("SIGINT", () => server.close(() => process.exit(0)));
