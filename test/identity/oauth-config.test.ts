// auth.oauth and upstreams[].token_exchange in warden.yaml: what is refused, with the key and why.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";

const HTTP = "listen: { http: { port: 0 } }\n";
const parse = (text: string, ups = "upstreams: [{ name: a, command: x }]\n") =>
  parseConfig(`${text}policy: p.yaml\n${ups}`, "/tmp/w.yaml");
const errors = (text: string, ups?: string) => {
  const r = parse(text, ups);
  return r.ok ? [] : r.errors.map((e) => `${e.code} ${e.key}: ${e.message}`);
};
const oauth = (extra = "jwks_uri: https://idp.test/jwks") =>
  `auth:\n  oauth:\n    issuer: https://idp.test\n    audience: https://gw.test/mcp\n    ${extra}\n`;

describe("auth.oauth", () => {
  it("takes an issuer, the gateway's audience and a JWKS, with defaults", () => {
    const r = parse(HTTP + oauth());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.auth?.tokens).toEqual([]);
    expect(r.config.auth?.oauth).toMatchObject({
      issuer: "https://idp.test",
      audience: "https://gw.test/mcp",
      subjectClaim: "sub",
      groupsClaim: "groups",
      algorithms: ["RS256", "PS256", "ES256", "EdDSA"],
      clockSkewSeconds: 30,
      authorizationServers: ["https://idp.test"],
    });
  });

  it("counts as tokens for listening beyond loopback (with TLS)", () => {
    const tls = "listen: { http: { host: 0.0.0.0, tls: { cert: c.pem, key: k.pem } } }\n";
    expect(errors(tls)).toEqual([expect.stringMatching(/^insecure_listen/)]);
    expect(errors(tls + oauth())).toEqual([]);
  });

  it("refuses what cannot work, naming the key", () => {
    expect(errors(HTTP + oauth("required_scopes: [mcp]"))).toEqual([
      expect.stringMatching(/^missing_key auth\.oauth: .*jwks_uri .*jwks_file/),
    ]);
    expect(
      errors(HTTP + oauth("jwks_uri: https://idp.test/jwks\n    jwks_file: ./k.json")),
    ).toEqual([expect.stringMatching(/^conflicting_keys auth\.oauth\.jwks_file/)]);
    expect(errors(HTTP + oauth("jwks_uri: http://idp.test/jwks"))).toEqual([
      expect.stringMatching(/^invalid_value auth\.oauth\.jwks_uri: .*https/),
    ]);
    expect(
      errors(HTTP + oauth("jwks_uri: https://idp.test/jwks\n    algorithms: [HS256]")),
    ).toEqual([
      expect.stringMatching(
        /^invalid_value auth\.oauth\.algorithms\[0\]: .*none and HS\* are never/,
      ),
    ]);
    expect(errors(oauth())).toEqual([
      expect.stringMatching(/^conflicting_keys auth\.oauth: .*listen: \{ http/),
    ]);
    expect(errors(HTTP + oauth().replace("https://gw.test/mcp", "not a url"))).toEqual([
      expect.stringMatching(/^invalid_value auth\.oauth\.audience/),
    ]);
  });

  it("token_exchange needs a token endpoint, one credential, and a session of its own", () => {
    const up = (extra: string) =>
      `upstreams:\n  - name: s\n    url: https://s.test/mcp\n    token_exchange: { scopes: [read] }\n${extra}`;
    expect(errors(HTTP + oauth(), up(""))).toEqual([
      expect.stringMatching(/^missing_key upstreams\[0\]\.token_exchange: .*token_endpoint/),
    ]);
    const withEndpoint = oauth(
      "jwks_uri: https://idp.test/jwks\n    token_endpoint: https://idp.test/token",
    );
    expect(errors(HTTP + withEndpoint, up("    bearer_env: X\n"))).toEqual([
      expect.stringMatching(/^conflicting_keys upstreams\[0\]\.token_exchange: .*bearer_env/),
    ]);
    expect(errors(HTTP + withEndpoint, up("    sessions: shared\n"))).toEqual([
      expect.stringMatching(/^conflicting_keys upstreams\[0\]\.token_exchange: .*shared/),
    ]);
    const r = parse(HTTP + withEndpoint, up(""));
    expect(r.ok && r.config.upstreams[0]).toMatchObject({
      tokenExchange: { resource: "https://s.test/mcp", scopes: ["read"] },
    });
  });
});
