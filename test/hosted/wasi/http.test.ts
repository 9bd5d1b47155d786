/**
 * wasi:http/outgoing-handler through Warden's host. A loopback HTTP server stands in for the
 * allowed host. Attacker cases: a host not allowed, 169.254.169.254 by IP (and in its decimal
 * form), by a name that resolves to it (a name mapped by the host's `lookup` option, as a DNS
 * answer would), and `localhost` resolved by the system's resolver against a CIDR deny of
 * 127.0.0.0/8: each refused with HTTP-request-denied and an event naming the rule.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WasiHostOptions } from "../../../src/hosted/wasi/host.js";
import { hostWith, wasiError } from "./helpers.js";

// The server runs in another process: a WASI host call blocks its thread until it returns
// (preview2-shim waits on its I/O worker), so a server in the test's own thread never answers.
let server: ChildProcess;
let port: number;

const SERVER = `require("node:http").createServer((q, s) => { s.setHeader("x-seen", q.method + " " + q.url); s.end("weather: sunny"); }).listen(0, "127.0.0.1", function () { console.log(this.address().port); });`;

beforeAll(async () => {
  server = spawn(process.execPath, ["-e", SERVER], { stdio: ["ignore", "pipe", "inherit"] });
  port = await new Promise<number>((resolve) =>
    server.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))),
  );
});
afterAll(() => {
  server.kill();
});

type Types = Record<
  string,
  new (
    ...a: unknown[]
  ) => Record<string, (...a: unknown[]) => unknown>
> & {
  Fields: { new (): unknown };
};

function request(
  host: ReturnType<typeof hostWith>["host"],
  authority: string,
  path = "/w",
  scheme = "HTTP",
) {
  const t = host.imports["wasi:http/types"] as unknown as Types;
  const req = new t.OutgoingRequest!(new t.Fields());
  req.setScheme!({ tag: scheme });
  req.setAuthority!(authority);
  req.setPathWithQuery!(path);
  const handle = host.imports["wasi:http/outgoing-handler"]!.handle as (
    r: unknown,
    o?: unknown,
  ) => {
    subscribe(): { block(): void };
    get(): {
      tag: string;
      val: { tag: string; val: { status(): number; headers(): { get(k: string): Uint8Array[] } } };
    };
  };
  return () => handle(req, undefined);
}

function setup(policyLines: string[], extra: Partial<WasiHostOptions> = {}) {
  return hostWith({
    component: "weather",
    policy: {
      source: ['version: "1.0"', "network:", ...policyLines, ""].join("\n"),
      file: "net.yaml",
    },
    ...extra,
  });
}

describe("wasi:http allowed", () => {
  it("reaches the allowed host (a loopback server stands in)", () => {
    const { host, events } = setup(["  allow:", '    - host: "127.0.0.1"', "      methods: [GET]"]);
    const future = request(host, `127.0.0.1:${port}`)();
    future.subscribe().block();
    const r = future.get();
    expect(r.tag).toBe("ok");
    expect(r.val.val.status()).toBe(200);
    const seen = r.val.val.headers().get("x-seen")[0]!;
    expect(new TextDecoder().decode(seen)).toBe("GET /w");
    expect(events.filter((e) => e.decision === "deny")).toEqual([]);
  });
});

describe("wasi:http attacker cases", () => {
  it("a host not allowed: HTTP-request-denied, with the hint", () => {
    const { host, events } = setup(["  allow:", '    - host: "api.example.com"']);
    expect(wasiError(request(host, "evil.example.net"))).toEqual({ tag: "HTTP-request-denied" });
    const ev = events.at(-1)!;
    expect(ev).toMatchObject({
      interface: "wasi:http/outgoing-handler",
      function: "handle",
      decision: "deny",
      code: "no_rule",
      wasi_error: "HTTP-request-denied",
    });
    expect(ev.hint).toContain('host: "evil.example.net"');
  });

  it("169.254.169.254 by IP and in decimal form", () => {
    const { host } = setup(["  allow:", '    - host: "*.example.com"']);
    expect(wasiError(request(host, "169.254.169.254", "/latest/meta-data/"))).toEqual({
      tag: "HTTP-request-denied",
    });
    expect(wasiError(request(host, "2852039166", "/latest/meta-data/"))).toEqual({
      tag: "HTTP-request-denied",
    });
  });

  it("169.254.169.254 by a name that resolves to it: refused although the name is allowed", () => {
    const lookup = (name: string) => (name === "metadata.example.com" ? ["169.254.169.254"] : []);
    const { host, events } = setup(["  allow:", '    - host: "*.example.com"'], { lookup });
    expect(wasiError(request(host, "metadata.example.com"))).toEqual({
      tag: "HTTP-request-denied",
    });
    expect(events.at(-1)!.reason).toContain("resolved to 169.254.169.254, a link-local address");
    // With a CIDR deny, the deny rule is named.
    const withDeny = setup(
      ["  allow:", '    - host: "*.example.com"', "  deny:", '    - cidr: "169.254.0.0/16"'],
      { lookup },
    );
    expect(wasiError(request(withDeny.host, "metadata.example.com"))).toEqual({
      tag: "HTTP-request-denied",
    });
    expect(withDeny.events.at(-1)).toMatchObject({ code: "deny_rule", rule: "net.yaml:6" });
  });

  it("a name the system resolves to loopback, against a CIDR deny (localhost)", () => {
    const { host, events } = setup([
      "  allow:",
      '    - host: "localhost"',
      "  deny:",
      '    - cidr: "127.0.0.0/8"',
    ]);
    expect(wasiError(request(host, `localhost:${port}`))).toEqual({ tag: "HTTP-request-denied" });
    expect(events.at(-1)).toMatchObject({ code: "deny_rule", rule_id: "network.deny[0]" });
  });

  it("a name resolving to loopback is refused unless it is localhost", () => {
    const lookup = () => ["127.0.0.1"];
    const { host } = setup(["  allow:", '    - host: "*.example.com"'], { lookup });
    expect(wasiError(request(host, `rebind.example.com:${port}`))).toEqual({
      tag: "HTTP-request-denied",
    });
  });
});

/**
 * DNS rebinding: the judging lookup answers an allowed address, a second resolution would answer
 * a denied one. Two servers share one port: 127.0.0.2 (the allowed address, "good") and
 * 127.0.0.1 (denied by a CIDR rule: it stands in for 169.254.169.254, "bad"). The name is
 * `localhost`, which the system's resolver (what the shim's I/O worker would ask again) maps to
 * 127.0.0.1: the request must connect to the address that was judged, never to a second answer.
 */
describe("wasi:http: a request with no authority", () => {
  it("is refused outright, not judged on a host read out of its path", () => {
    const { host, events } = setup(["  allow:", '    - host: "127.0.0.1"']);
    const t = host.imports["wasi:http/types"] as unknown as Types;
    const handle = host.imports["wasi:http/outgoing-handler"]!.handle as (
      r: unknown,
      o?: unknown,
    ) => unknown;
    // No authority at all: the URL would read `http:///127.0.0.1:<port>/x` (host 127.0.0.1).
    const none = new t.OutgoingRequest!(new t.Fields());
    none.setScheme!({ tag: "HTTP" });
    none.setPathWithQuery!(`/127.0.0.1:${port}/x`);
    expect(wasiError(() => handle(none, undefined))).toEqual({ tag: "HTTP-request-denied" });
    expect(events.at(-1)).toMatchObject({
      decision: "deny",
      code: "host",
      wasi_error: "HTTP-request-denied",
      function: "handle",
    });
    expect(events.at(-1)!.reason).toContain("no authority");
    // An empty authority, the same.
    const empty = new t.OutgoingRequest!(new t.Fields());
    empty.setScheme!({ tag: "HTTP" });
    empty.setAuthority!("");
    empty.setPathWithQuery!(`/127.0.0.1:${port}/x`);
    expect(wasiError(() => handle(empty, undefined))).toEqual({ tag: "HTTP-request-denied" });
    expect(events.at(-1)!.reason).toContain("no authority");
    // The allowed host with its authority still passes.
    const future = request(host, `127.0.0.1:${port}`)() as unknown as {
      subscribe(): { block(): void };
      get(): { tag: string };
    };
    future.subscribe().block();
    expect(future.get().tag).toBe("ok");
  });
});

describe("wasi:http DNS rebinding", () => {
  let pair: ChildProcess;
  let pairPort: number;
  const PAIR = `const http = require("node:http");
const good = http.createServer((q, s) => { s.setHeader("x-who", "good"); s.end("ok"); });
good.listen(0, "127.0.0.2", () => {
  const port = good.address().port;
  http.createServer((q, s) => { console.error("BAD SERVER REACHED " + q.url); s.setHeader("x-who", "bad"); s.end("secret"); })
    .listen(port, "127.0.0.1", () => console.log(port));
});`;
  beforeAll(async () => {
    pair = spawn(process.execPath, ["-e", PAIR], { stdio: ["ignore", "pipe", "inherit"] });
    pairPort = await new Promise<number>((resolve) =>
      pair.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
  });
  afterAll(() => {
    pair.kill();
  });
  const policy = ["  allow:", '    - host: "localhost"', "  deny:", '    - cidr: "127.0.0.1/32"'];

  it("the request connects to the judged address, not to a second DNS answer", () => {
    let asked = 0;
    // A hostile DNS server: the allowed address first, the denied one after.
    const lookup = () => (asked++ === 0 ? ["127.0.0.2"] : ["127.0.0.1"]);
    const { host, events } = setup(policy, { lookup });
    const future = request(host, `localhost:${pairPort}`)();
    future.subscribe().block();
    const r = future.get();
    expect(r.tag).toBe("ok");
    expect(r.val.tag).toBe("ok");
    expect(new TextDecoder().decode(r.val.val.headers().get("x-who")[0]!)).toBe("good");
    expect(asked).toBe(1);
    // A second request is judged on its own answer (127.0.0.1) and refused before it leaves.
    expect(wasiError(request(host, `localhost:${pairPort}`))).toEqual({
      tag: "HTTP-request-denied",
    });
    expect(events.filter((e) => e.decision === "deny").at(-1)).toMatchObject({
      code: "deny_rule",
      rule_id: "network.deny[0]",
    });
  });

  it("a name whose judged lookup found nothing is not resolved again by the shim", () => {
    const { host } = setup(policy, { lookup: () => [] });
    const future = request(host, `localhost:${pairPort}`)();
    future.subscribe().block();
    const r = future.get();
    // Never the denied server: the request fails to resolve.
    expect(r.tag === "ok" && r.val.tag === "ok").toBe(false);
    expect(JSON.stringify(r)).toContain("DNS");
  });
});
