/**
 * wasi:sockets through Warden's host, judged on the address actually connected to. A loopback
 * server (another process) stands in for the allowed peer. Attacker cases: 169.254.169.254 by
 * IP and as IPv4-mapped IPv6, a name that resolves (by the system's resolver) to an address a
 * CIDR rule denies, binding a chosen port, listening, UDP to the metadata address.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostWith, wasiError } from "./helpers.js";

let server: ChildProcess;
let port: number;
const SERVER = `require("node:net").createServer((s) => s.end("hi")).listen(0, "127.0.0.1", function () { console.log(this.address().port); });`;

beforeAll(async () => {
  server = spawn(process.execPath, ["-e", SERVER], { stdio: ["ignore", "pipe", "inherit"] });
  port = await new Promise<number>((resolve) =>
    server.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))),
  );
});
afterAll(() => {
  server.kill();
});

type Obj = Record<string, (...a: unknown[]) => unknown>;

function setup(lines: string[]) {
  const r = hostWith({
    component: "net-tool",
    policy: { source: ['version: "1.0"', "network:", ...lines, ""].join("\n"), file: "sock.yaml" },
  });
  const i = r.host.imports;
  const net = (i["wasi:sockets/instance-network"]!.instanceNetwork as () => unknown)();
  const tcp = () =>
    (i["wasi:sockets/tcp-create-socket"]!.createTcpSocket as (f: string) => Obj)("ipv4");
  const tcp6 = () =>
    (i["wasi:sockets/tcp-create-socket"]!.createTcpSocket as (f: string) => Obj)("ipv6");
  const udp = () =>
    (i["wasi:sockets/udp-create-socket"]!.createUdpSocket as (f: string) => Obj)("ipv4");
  const lookup = (name: string) => {
    const s = (
      i["wasi:sockets/ip-name-lookup"]!.resolveAddresses as (n: unknown, h: string) => Obj
    )(net, name);
    (s.subscribe!() as { block(): void }).block();
    const out: { tag: string; val: number[] }[] = [];
    for (let a = s.resolveNextAddress!(); a !== undefined; a = s.resolveNextAddress!())
      out.push(a as { tag: string; val: number[] });
    return out;
  };
  return { ...r, net, tcp, tcp6, udp, lookup };
}

const v4 = (address: number[], p: number) => ({ tag: "ipv4", val: { port: p, address } });

describe("wasi:sockets tcp", () => {
  it("connects to an allowed address", () => {
    const { tcp, net } = setup(["  allow:", '    - cidr: "127.0.0.0/8"']);
    const s = tcp();
    s.startConnect!(net, v4([127, 0, 0, 1], port));
    (s.subscribe!() as { block(): void }).block();
    const [input, output] = s.finishConnect!() as [unknown, unknown];
    expect(input).toBeDefined();
    expect(output).toBeDefined();
  });

  it("169.254.169.254 by IP and as IPv4-mapped IPv6: access-denied, the CIDR deny named", () => {
    const { tcp, tcp6, net, events } = setup([
      "  allow:",
      '    - cidr: "0.0.0.0/0"',
      "  deny:",
      '    - cidr: "169.254.0.0/16"',
    ]);
    expect(wasiError(() => tcp().startConnect!(net, v4([169, 254, 169, 254], 80)))).toBe(
      "access-denied",
    );
    expect(events.at(-1)).toMatchObject({
      code: "deny_rule",
      rule: "sock.yaml:6",
      wasi_error: "access-denied",
    });
    const mapped = {
      tag: "ipv6",
      val: { port: 80, address: [0, 0, 0, 0, 0, 0xffff, 0xa9fe, 0xa9fe], flowInfo: 0, scopeId: 0 },
    };
    expect(wasiError(() => tcp6().startConnect!(net, mapped))).toBe("access-denied");
    expect(events.at(-1)!.action).toMatchObject({ host: "0:0:0:0:0:ffff:a9fe:a9fe", port: 80 });
    expect(events.at(-1)).toMatchObject({ code: "deny_rule", rule_id: "network.deny[0]" });
  });

  it("an address no rule allows: access-denied with the hint", () => {
    const { tcp, net, events } = setup(["  allow:", '    - host: "api.example.com"']);
    expect(wasiError(() => tcp().startConnect!(net, v4([10, 0, 0, 7], 5432)))).toBe(
      "access-denied",
    );
    expect(events.at(-1)!.hint).toContain('host: "10.0.0.7", ports: [5432]');
  });

  it("a name that resolves to a denied range: the lookup passes, the connection does not", () => {
    const { tcp, net, lookup, events } = setup([
      "  allow:",
      '    - host: "localhost"',
      "  deny:",
      '    - cidr: "127.0.0.0/8"',
    ]);
    const addrs = lookup("localhost").filter((a) => a.tag === "ipv4");
    expect(addrs.length).toBeGreaterThan(0);
    expect(wasiError(() => tcp().startConnect!(net, v4(addrs[0]!.val, port)))).toBe(
      "access-denied",
    );
    expect(events.at(-1)).toMatchObject({ code: "deny_rule", rule_id: "network.deny[0]" });
  });

  it("a name resolved by a judged lookup connects through its name's rule", () => {
    const { tcp, net, lookup } = setup(["  allow:", '    - host: "localhost"']);
    const a = lookup("localhost").find((x) => x.tag === "ipv4")!;
    const s = tcp();
    s.startConnect!(net, v4(a.val, port));
    (s.subscribe!() as { block(): void }).block();
    expect(s.finishConnect!()).toHaveLength(2);
  });

  it("looking up a name not allowed is refused", () => {
    const { lookup } = setup(["  allow:", '    - host: "api.example.com"']);
    expect(wasiError(() => lookup("evil.example.net"))).toBe("permanent-resolver-failure");
  });

  it("binding a chosen port and listening are refused: no inbound grant", () => {
    const { tcp, net } = setup(["  allow:", '    - cidr: "0.0.0.0/0"']);
    expect(wasiError(() => tcp().startBind!(net, v4([0, 0, 0, 0], 8080)))).toBe("access-denied");
    expect(wasiError(() => tcp().startListen!())).toBe("access-denied");
    expect(wasiError(() => tcp().accept!())).toBe("access-denied");
  });
});

describe("wasi:sockets udp", () => {
  it("a datagram to the metadata address is refused", () => {
    const { udp, net } = setup(["  allow:", '    - host: "api.example.com"']);
    const s = udp();
    s.startBind!(net, v4([0, 0, 0, 0], 0));
    (s.subscribe!() as { block(): void }).block();
    s.finishBind!();
    const [, out] = s.stream!(undefined) as [unknown, Obj];
    expect(
      wasiError(() =>
        out.send!([{ data: new Uint8Array([1]), remoteAddress: v4([169, 254, 169, 254], 53) }]),
      ),
    ).toBe("access-denied");
    expect(wasiError(() => s.stream!(v4([169, 254, 169, 254], 53)))).toBe("access-denied");
  });
});
