// The policy's mcp.transport judges each upstream's own transport (and its URL's host) when a
// session connects it, as `warden gateway --check` reports it (issue 18, 3): an upstream whose
// transport the policy refuses is kept out of the session, never connected.
import { afterEach, describe, expect, it } from "vitest";
import { type FixtureHttp, startFixtureHttp } from "../fixtures/mcp-server/http.mjs";
import {
  httpClient,
  httpUpstream,
  startGateway,
  stdioUpstream,
  tempDir,
  writeGatewayFiles,
} from "./helpers.js";

const policy = (transport: string) => `version: "1.0"
mcp:
  transport: ${transport}
  tools:
    allow: ["*"]
`;

let stop: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stop.reverse()) await s().catch(() => {});
  stop = [];
});

describe("mcp.transport judges the transport each upstream uses", () => {
  it("keeps out an HTTP upstream whose host the policy does not allow; the stdio one serves", async () => {
    // The upstream listens on 127.0.0.2; clients reach the gateway on 127.0.0.1, the one host
    // the policy allows for HTTP.
    const fixture: FixtureHttp = await startFixtureHttp({
      host: "127.0.0.2",
      dnsRebindingProtection: false,
    });
    stop.push(() => fixture.close());
    const cfg = writeGatewayFiles(
      tempDir(),
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nupstreams:\n${stdioUpstream("a", [], true)}${httpUpstream("b", fixture.url)}    prefix: true\n`,
      policy(`{ stdio: true, http: { allowed_hosts: ["127.0.0.1"] } }`),
    );
    const { gw, url } = await startGateway(cfg);
    stop.push(() => gw.stop());
    const client = await httpClient(url);
    stop.push(() => client.close());
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names.some((n) => n.startsWith("a__"))).toBe(true);
    expect(names.some((n) => n.startsWith("b__"))).toBe(false);
    expect(fixture.sessions()).toBe(0);
  });

  it("refuses the session when the policy allows none of the upstreams' transports", async () => {
    const cfg = writeGatewayFiles(
      tempDir(),
      `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\nupstreams:\n${stdioUpstream("a")}`,
      policy("{ http: true }"),
    );
    const { gw, url } = await startGateway(cfg);
    stop.push(() => gw.stop());
    await expect(httpClient(url)).rejects.toThrow(/transport "stdio" is not enabled/);
  });
});
