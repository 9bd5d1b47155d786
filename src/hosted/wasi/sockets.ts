/**
 * wasi:sockets, judged on the address actually connected to:
 * - ip-name-lookup: the name is asked as `network.connect` (any port); the addresses it
 *   resolves to are remembered as reached through that name.
 * - tcp connect and udp stream / send: the address and port. An address a judged lookup
 *   returned is allowed when its name is allowed on that port and the address itself is not
 *   refused (address.ts: deny rules such as 169.254.0.0/16, link-local, metadata); any other
 *   address must be allowed on its own (a rule with its IP or CIDR).
 * - bind: only to the unspecified address with port 0 (what a client does; tcp binds before
 *   connecting, udp before sending); listen and accept are refused: the policy grants no
 *   inbound connections.
 * A refusal is the error `access-denied` of wasi:sockets/network. Socket options, addresses,
 * subscribe and shutdown are passed on (reviewed: no capability); streams are the shim's.
 */
import {
  instanceNetwork,
  ipNameLookup,
  network,
  udp as shimUdp,
  tcpCreateSocket,
  udpCreateSocket,
} from "@bytecodealliance/preview2-shim/sockets";
import { canonicalizeHost } from "../../policy/canon/host.js";
import { ipText, judgeAddress } from "./address.js";
import type { Crossings } from "./crossing.js";

/** Synchronous host name resolution: the addresses (text) a name resolves to. */
export type Lookup = (name: string) => readonly string[];

type Inner = Record<string, (...args: unknown[]) => unknown>;
interface IpSocketAddress {
  tag: string;
  val: { port: number; address: readonly number[] };
}

const DENIED = "access-denied";
const symbolDispose: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for("dispose");
const MAKE = Symbol("make socket");

/** Addresses reached through judged lookups, per host: address → name (bounded). */
class Resolved {
  readonly #names = new Map<string, string>();
  add(address: string, name: string): void {
    if (this.#names.size >= 10_000) this.#names.clear();
    this.#names.set(canon(address), name);
  }
  nameOf(address: string): string | undefined {
    return this.#names.get(canon(address));
  }
}

function canon(address: string): string {
  const c = canonicalizeHost(address);
  return c.ok ? c.value.host : address;
}

function isUnspecified(a: IpSocketAddress): boolean {
  return a?.val?.port === 0 && a.val.address.every((x) => x === 0);
}

interface Ctx {
  readonly crossings: Crossings;
  readonly resolved: Resolved;
}

function check(ctx: Ctx, iface: string, fn: string, remote: IpSocketAddress): void {
  const address = ipText({ tag: remote.tag, val: remote.val.address });
  const port = remote.val.port;
  const via = ctx.resolved.nameOf(address);
  ctx.crossings.run(
    iface,
    fn,
    { kind: "network.connect", host: via ?? address, port },
    DENIED,
    () => {
      const refused = judgeAddress(ctx.crossings, iface, fn, address, port, via, DENIED);
      if (refused !== undefined) throw refused;
    },
  );
}

function refuse(ctx: Ctx, iface: string, fn: string, why: string): never {
  throw ctx.crossings.refuse(iface, fn, undefined, why, DENIED);
}

export class ResolveAddressStream {
  readonly #inner: Inner;
  readonly #name: string;
  readonly #ctx: Ctx;
  constructor(inner: unknown, name: string, ctx: Ctx, token: symbol) {
    if (token !== MAKE) throw new TypeError("ResolveAddressStream cannot be constructed");
    this.#inner = inner as Inner;
    this.#name = name;
    this.#ctx = ctx;
  }
  resolveNextAddress(): unknown {
    const a = this.#inner.resolveNextAddress!.call(this.#inner) as
      | { tag: string; val: number[] }
      | undefined;
    if (a !== undefined) this.#ctx.resolved.add(ipText(a), this.#name);
    return a;
  }
  subscribe(): unknown {
    return this.#inner.subscribe!.call(this.#inner);
  }
  [symbolDispose](): void {
    (this.#inner[symbolDispose as unknown as string] as (() => void) | undefined)?.call(
      this.#inner,
    );
  }
}

const TCP = "wasi:sockets/tcp";
const UDP = "wasi:sockets/udp";

/** Methods passed on as they are (reviewed: options, addresses, readiness, shutdown). */
const TCP_PASS = [
  "finishBind",
  "finishConnect",
  "localAddress",
  "remoteAddress",
  "isListening",
  "addressFamily",
  "setListenBacklogSize",
  "keepAliveEnabled",
  "setKeepAliveEnabled",
  "keepAliveIdleTime",
  "setKeepAliveIdleTime",
  "keepAliveInterval",
  "setKeepAliveInterval",
  "keepAliveCount",
  "setKeepAliveCount",
  "hopLimit",
  "setHopLimit",
  "receiveBufferSize",
  "setReceiveBufferSize",
  "sendBufferSize",
  "setSendBufferSize",
  "subscribe",
  "shutdown",
] as const;

export class TcpSocket {
  readonly #inner: Inner;
  readonly #ctx: Ctx;
  constructor(inner: unknown, ctx: Ctx, token: symbol) {
    if (token !== MAKE) throw new TypeError("TcpSocket cannot be constructed");
    this.#inner = inner as Inner;
    this.#ctx = ctx;
  }
  static inner(s: TcpSocket): Inner {
    return s.#inner;
  }
  static ctx(s: TcpSocket): Ctx {
    return s.#ctx;
  }
  startBind(net: unknown, local: IpSocketAddress): void {
    if (!isUnspecified(local))
      refuse(
        this.#ctx,
        TCP,
        "[method]tcp-socket.start-bind",
        "binding to a chosen address or port: the policy grants no inbound connections",
      );
    this.#ctx.crossings.run(TCP, "[method]tcp-socket.start-bind", undefined, DENIED, () =>
      this.#inner.startBind!.call(this.#inner, net, local),
    );
  }
  startConnect(net: unknown, remote: IpSocketAddress): void {
    check(this.#ctx, TCP, "[method]tcp-socket.start-connect", remote);
    this.#inner.startConnect!.call(this.#inner, net, remote);
  }
  startListen(): void {
    refuse(
      this.#ctx,
      TCP,
      "[method]tcp-socket.start-listen",
      "listening: the policy grants no inbound connections",
    );
  }
  finishListen(): void {
    refuse(
      this.#ctx,
      TCP,
      "[method]tcp-socket.finish-listen",
      "listening: the policy grants no inbound connections",
    );
  }
  accept(): void {
    refuse(
      this.#ctx,
      TCP,
      "[method]tcp-socket.accept",
      "accepting: the policy grants no inbound connections",
    );
  }
  [symbolDispose](): void {
    (this.#inner[symbolDispose as unknown as string] as (() => void) | undefined)?.call(
      this.#inner,
    );
  }
}
for (const m of TCP_PASS) {
  Object.defineProperty(TcpSocket.prototype, m, {
    value: function (this: TcpSocket, ...args: unknown[]) {
      const inner = TcpSocket.inner(this);
      return inner[m]!.apply(inner, args);
    },
    writable: false,
  });
}

export class OutgoingDatagramStream {
  readonly #inner: Inner;
  readonly #ctx: Ctx;
  constructor(inner: unknown, ctx: Ctx, token: symbol) {
    if (token !== MAKE) throw new TypeError("OutgoingDatagramStream cannot be constructed");
    this.#inner = inner as Inner;
    this.#ctx = ctx;
  }
  checkSend(): unknown {
    return this.#inner.checkSend!.call(this.#inner);
  }
  send(datagrams: readonly { data: Uint8Array; remoteAddress?: IpSocketAddress }[]): unknown {
    for (const d of datagrams)
      if (d.remoteAddress !== undefined)
        check(this.#ctx, UDP, "[method]outgoing-datagram-stream.send", d.remoteAddress);
    return this.#inner.send!.call(this.#inner, datagrams);
  }
  subscribe(): unknown {
    return this.#inner.subscribe!.call(this.#inner);
  }
  [symbolDispose](): void {
    (this.#inner[symbolDispose as unknown as string] as (() => void) | undefined)?.call(
      this.#inner,
    );
  }
}

const UDP_PASS = [
  "finishBind",
  "localAddress",
  "remoteAddress",
  "addressFamily",
  "unicastHopLimit",
  "setUnicastHopLimit",
  "receiveBufferSize",
  "setReceiveBufferSize",
  "sendBufferSize",
  "setSendBufferSize",
  "subscribe",
] as const;

export class UdpSocket {
  readonly #inner: Inner;
  readonly #ctx: Ctx;
  constructor(inner: unknown, ctx: Ctx, token: symbol) {
    if (token !== MAKE) throw new TypeError("UdpSocket cannot be constructed");
    this.#inner = inner as Inner;
    this.#ctx = ctx;
  }
  static inner(s: UdpSocket): Inner {
    return s.#inner;
  }
  startBind(net: unknown, local: IpSocketAddress): void {
    if (!isUnspecified(local))
      refuse(
        this.#ctx,
        UDP,
        "[method]udp-socket.start-bind",
        "binding to a chosen address or port: the policy grants no inbound traffic",
      );
    this.#ctx.crossings.run(UDP, "[method]udp-socket.start-bind", undefined, DENIED, () =>
      this.#inner.startBind!.call(this.#inner, net, local),
    );
  }
  stream(remote: IpSocketAddress | undefined): unknown {
    if (remote !== undefined) check(this.#ctx, UDP, "[method]udp-socket.stream", remote);
    const [incoming, outgoing] = this.#inner.stream!.call(this.#inner, remote) as [
      unknown,
      unknown,
    ];
    return [incoming, new OutgoingDatagramStream(outgoing, this.#ctx, MAKE)];
  }
  [symbolDispose](): void {
    (this.#inner[symbolDispose as unknown as string] as (() => void) | undefined)?.call(
      this.#inner,
    );
  }
}
for (const m of UDP_PASS) {
  Object.defineProperty(UdpSocket.prototype, m, {
    value: function (this: UdpSocket, ...args: unknown[]) {
      const inner = UdpSocket.inner(this);
      return inner[m]!.apply(inner, args);
    },
    writable: false,
  });
}

export function socketImports(crossings: Crossings): Record<string, Record<string, unknown>> {
  const ctx: Ctx = { crossings, resolved: new Resolved() };
  const shimLookup = ipNameLookup as unknown as {
    IncomingDatagramStream?: unknown;
    resolveAddresses(n: unknown, name: string): unknown;
  };
  const LOOKUP = "wasi:sockets/ip-name-lookup";
  return {
    "wasi:sockets/network": { ...(network as unknown as Record<string, unknown>) },
    "wasi:sockets/instance-network": { ...(instanceNetwork as unknown as Record<string, unknown>) },
    [LOOKUP]: {
      ResolveAddressStream,
      resolveAddresses(net: unknown, name: string) {
        // The name is judged whatever the port (a lookup connects nowhere); `condition` means
        // a rule allows the name on some ports: the connection is judged with its port.
        const j = crossings.judge({ kind: "network.connect", host: name });
        if (!j.decision.allowed && j.decision.code !== "condition")
          throw crossings.refuse(
            LOOKUP,
            "resolve-addresses",
            { kind: "network.connect", host: name },
            `looking up ${name}: ${j.decision.reason}`,
            "permanent-resolver-failure",
            j,
          );
        return crossings.run(
          LOOKUP,
          "resolve-addresses",
          undefined,
          DENIED,
          () => new ResolveAddressStream(shimLookup.resolveAddresses(net, name), name, ctx, MAKE),
        );
      },
    },
    "wasi:sockets/tcp-create-socket": {
      createTcpSocket: (family: string) =>
        crossings.run(
          "wasi:sockets/tcp-create-socket",
          "create-tcp-socket",
          undefined,
          DENIED,
          () =>
            new TcpSocket(
              (tcpCreateSocket as { createTcpSocket(f: string): unknown }).createTcpSocket(family),
              ctx,
              MAKE,
            ),
        ),
    },
    [TCP]: { TcpSocket },
    "wasi:sockets/udp-create-socket": {
      createUdpSocket: (family: string) =>
        crossings.run(
          "wasi:sockets/udp-create-socket",
          "create-udp-socket",
          undefined,
          DENIED,
          () =>
            new UdpSocket(
              (udpCreateSocket as { createUdpSocket(f: string): unknown }).createUdpSocket(family),
              ctx,
              MAKE,
            ),
        ),
    },
    [UDP]: {
      UdpSocket,
      IncomingDatagramStream: (shimUdp as unknown as Record<string, unknown>)
        .IncomingDatagramStream,
      OutgoingDatagramStream,
    },
  };
}
