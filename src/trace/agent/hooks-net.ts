/**
 * Network hooks: every TCP connect (net, tls, http, https, and the fetch Node bundles all end
 * in `net.Socket.prototype.connect`) is judged on its host and port before the socket opens;
 * `http(s).request/get` and global `fetch` are judged on their URL too, and `dns.lookup` on the
 * name. A blocked connect fails as a refused one (ECONNREFUSED), a blocked lookup as a name
 * that does not exist (ENOTFOUND), a blocked fetch as fetch fails (TypeError, the cause named).
 */
import type * as DGRAM from "node:dgram";
import type * as DNS from "node:dns";
import type * as HTTP from "node:http";
import type * as NET from "node:net";
import { connectError, lookupError } from "./errors.js";
import type { Judged } from "./judge.js";
import type { Tracer } from "./tracer.js";

type AnyFn = (...a: unknown[]) => unknown;

/** Host and port of `socket.connect(...)`'s arguments; undefined for a local (IPC) socket. */
function endpoint(args: unknown[]): { host: string; port: number } | undefined {
  let a0 = args[0];
  // net.connect hands the socket its normalized arguments, an array.
  if (Array.isArray(a0)) a0 = a0[0];
  if (a0 !== null && typeof a0 === "object") {
    const o = a0 as { host?: unknown; port?: unknown; path?: unknown };
    if (o.path !== undefined && o.port === undefined) return undefined;
    const port = Number(o.port);
    return { host: typeof o.host === "string" && o.host !== "" ? o.host : "localhost", port };
  }
  if (typeof a0 === "number" || (typeof a0 === "string" && /^\d+$/.test(a0))) {
    const h = args[1];
    return { host: typeof h === "string" && h !== "" ? h : "localhost", port: Number(a0) };
  }
  return undefined;
}

/**
 * A `lookup` given in connect options answers the address Node connects to: `{ host:
 * "allowed.example", lookup: (h, o, cb) => cb(null, "10.0.0.1", 4) }` was judged as the
 * allowed name and connected where the policy forbids. Its answers (one address, or the list
 * `all: true` asks for) are judged as connects to that address and port; a blocked one is
 * answered as the error.
 */
function judgedLookup(t: Tracer, lookup: AnyFn, rawPort: unknown): AnyFn {
  const port = Number(rawPort);
  const p = Number.isInteger(port) && port >= 0 && port <= 65535 ? port : undefined;
  return function (this: unknown, host: unknown, opts: unknown, cb: unknown) {
    if (typeof cb !== "function") return Reflect.apply(lookup, this, [host, opts, cb]);
    const done = cb as AnyFn;
    return Reflect.apply(lookup, this, [
      host,
      opts,
      (err: unknown, addr: unknown, family: unknown) => {
        if (err) return done(err, addr, family);
        // Read once: Node gets the plain values judged.
        const answer = Array.isArray(addr)
          ? addr.map((a) => {
              const x = a as { address?: unknown; family?: unknown };
              return { address: String(x?.address), family: Number(x?.family) };
            })
          : String(addr);
        const list = Array.isArray(answer) ? answer.map((a) => a.address) : [answer];
        for (const ip of list) {
          const j = t.op("net.connect", "net", { kind: "connect", target: ip, port: p });
          if (j.verdict === "block") return done(connectError(ip, p, j));
        }
        return done(err, answer, family);
      },
    ]);
  };
}

export function hookNet(net: typeof NET, t: Tracer): string[] {
  const proto = net.Socket.prototype as unknown as { connect: AnyFn };
  const connect = proto.connect;
  proto.connect = function (this: NET.Socket, ...args: unknown[]) {
    // The options read once: Node is handed a plain copy, so a getter cannot answer the check
    // one host or port and Node another (a `port` getter that gave 1, an allowed port, to the
    // check and the real port to Node connected where the policy forbids).
    const arr = Array.isArray(args[0]) ? (args[0] as unknown[]) : undefined;
    const o = arr !== undefined ? arr[0] : args[0];
    if (o !== null && typeof o === "object") {
      const copy: Record<string, unknown> = {};
      for (const k in o) copy[k] = (o as Record<string, unknown>)[k];
      // The program's own `lookup` (or one on Object.prototype) chooses the address Node
      // connects to after the name was judged: each address it answers is judged too.
      const own = (o as Record<string, unknown>).lookup;
      if (typeof own === "function") copy.lookup = judgedLookup(t, own as AnyFn, copy.port);
      if (arr !== undefined) arr[0] = copy;
      else args[0] = copy;
    }
    const ep = endpoint(args);
    if (ep !== undefined && !t.judge.busy) {
      const port =
        Number.isInteger(ep.port) && ep.port >= 0 && ep.port <= 65535 ? ep.port : undefined;
      const j = t.op("net.connect", "net", { kind: "connect", target: ep.host, port });
      if (j.verdict === "block") {
        const err = connectError(ep.host, port, j);
        process.nextTick(() => this.destroy(err));
        return this;
      }
    }
    return Reflect.apply(connect, this, args);
  };
  return ["net.connect"];
}

/**
 * UDP (`dgram`): `socket.connect(port, address?)` and each `socket.send` of a socket not
 * connected are judged as a connect to their address and port (the address Node defaults to:
 * the loopback of the socket's family), as the Python agent judges `socket.sendto`. Before, a
 * datagram went anywhere unjudged. A blocked one fails as a refused connect (its callback, or
 * the socket's 'error': a send's callback gets it, as Node's own errors).
 */
export function hookDgram(dgram: typeof DGRAM, t: Tracer): string[] {
  const proto = dgram.Socket.prototype as unknown as Record<string, AnyFn>;
  const judge = (
    sock: DGRAM.Socket,
    fn: string,
    port: unknown,
    address: unknown,
    cb: unknown,
  ): boolean => {
    if (t.judge.busy) return false;
    const n = typeof port === "string" && /^\d+$/.test(port) ? Number(port) : port;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 65535) return false; // Node's own error
    const host =
      typeof address === "string" && address !== ""
        ? address
        : (sock as unknown as { type?: string }).type === "udp6"
          ? "::1"
          : "127.0.0.1";
    const j = t.op(fn, "dgram", { kind: "connect", target: host, port: n });
    if (j.verdict !== "block") return false;
    const err = connectError(host, n, j);
    if (typeof cb === "function") process.nextTick(cb as AnyFn, err);
    else process.nextTick(() => sock.emit("error", err));
    return true;
  };
  const connect = proto.connect!;
  proto.connect = function (this: DGRAM.Socket, ...a: unknown[]) {
    // A failed connect is the socket's 'error' (its callback listens for 'connect' only).
    if (judge(this, "dgram.connect", a[0], typeof a[1] === "function" ? undefined : a[1], null))
      return undefined;
    return Reflect.apply(connect, this, a);
  };
  const send = proto.send!;
  proto.send = function (this: DGRAM.Socket, ...a: unknown[]) {
    let connected = true;
    try {
      this.remoteAddress();
    } catch {
      connected = false;
    }
    if (!connected) {
      // Node's own reading of send(msg, [offset, length,] port, [address,] [callback]).
      const [, offset, length, port, address, callback] = a;
      let p = port;
      let addr = address;
      let cb = callback;
      if (!(address || (port && typeof port !== "function"))) {
        cb = port;
        p = offset;
        addr = length;
      }
      if (typeof addr === "function") {
        cb = addr;
        addr = undefined;
      }
      if (judge(this, "dgram.send", p, addr, cb)) return undefined;
    }
    return Reflect.apply(send, this, a);
  };
  return ["dgram.connect", "dgram.send"];
}

/**
 * `http.request(url?, options?, cb?)`'s arguments read once, as Node reads them
 * (`ClientRequest`: a string parsed as a URL, a URL or an object Node takes for one read as
 * `urlToHttpOptions` does, then `Object.assign`ed with the options): one plain object, the
 * callback, and the URL judged. Node is handed that object, so a getter, a URL subclass's own
 * `pathname` or a `{ href, protocol, pathname }` object cannot answer the check one URL and
 * Node another. Throws what a getter throws.
 */
function readRequest(
  args: unknown[],
  defaultProtocol: string,
): { opts: Record<string, unknown>; cb: unknown; url: string; method: string } {
  let [input, options, cb] = args;
  let opts: Record<string, unknown> = {};
  const x = input as Record<string, unknown> | null | undefined;
  if (typeof input === "string" || input instanceof URL || isUrlLike(x)) {
    const u = (typeof input === "string" ? new URL(input) : input) as Record<string, unknown>;
    const hostname = u.hostname;
    const pathname = u.pathname;
    const search = u.search;
    opts = {
      protocol: u.protocol,
      hostname:
        typeof hostname === "string" && hostname.startsWith("[") ? hostname.slice(1, -1) : hostname,
      hash: u.hash,
      search,
      pathname,
      path: `${pathname || ""}${search || ""}`,
      href: u.href,
    };
    const port = u.port;
    if (port !== "") opts.port = Number(port);
    const username = u.username;
    const password = u.password;
    if (username || password)
      opts.auth = `${decodeURIComponent(String(username))}:${decodeURIComponent(String(password))}`;
  } else {
    cb = options;
    options = input;
  }
  if (typeof options === "function") {
    cb = options;
    options = undefined;
  }
  if (options !== null && options !== undefined) Object.assign(opts, options);
  const method = typeof opts.method === "string" ? opts.method.toUpperCase() : "GET";
  const protocol = typeof opts.protocol === "string" ? opts.protocol : defaultProtocol;
  const host =
    typeof opts.hostname === "string" && opts.hostname !== ""
      ? opts.hostname
      : typeof opts.host === "string" && opts.host !== ""
        ? opts.host
        : "localhost";
  const port = opts.port;
  const path = typeof opts.path === "string" ? opts.path : "/";
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return {
    opts,
    cb,
    url: `${protocol}//${h}${port !== undefined && port !== null && port !== "" ? `:${String(port)}` : ""}${path}`,
    method,
  };
}

/** Node's own test (`isURL`): an object Node reads as a URL. */
function isUrlLike(x: Record<string, unknown> | null | undefined): boolean {
  return Boolean(
    x !== null &&
      typeof x === "object" &&
      x.href &&
      x.protocol &&
      x.auth === undefined &&
      x.path === undefined,
  );
}

/** The verdict on a request whose URL could not be read: refused (fail closed), audited. */
const UNREADABLE: Judged = Object.freeze({
  verdict: "block",
  decision: Object.freeze({
    allowed: false,
    effect: "deny",
    code: "bad_action",
    reason: "the request's URL could not be read (a getter threw): refused",
  }),
});

export function hookHttp(mod: typeof HTTP, name: "http" | "https", t: Tracer): string[] {
  const target = mod as unknown as Record<string, AnyFn>;
  const out: string[] = [];
  for (const fnName of ["request", "get"] as const) {
    const orig = target[fnName]!;
    const fn = `${name}.${fnName}`;
    target[fnName] = function (this: unknown, ...args: unknown[]) {
      // A string Node cannot parse: its own error (ERR_INVALID_URL), nothing is sent.
      if (typeof args[0] === "string" && !URL.canParse(args[0]))
        return Reflect.apply(orig, this, args);
      let r: ReturnType<typeof readRequest>;
      try {
        r = readRequest(args, `${name}:`);
      } catch {
        // Fail closed: what cannot be read cannot be judged; Node is not handed it either.
        const j = t.record(fn, name, "(unreadable URL)", UNREADABLE);
        throw connectError("(unreadable URL)", undefined, j);
      }
      const j = t.op(fn, name, { kind: "http", target: r.url, method: r.method });
      const call = typeof r.cb === "function" ? [r.opts, r.cb] : [r.opts];
      const req = Reflect.apply(orig, this, call) as HTTP.ClientRequest;
      if (j.verdict === "block") {
        let host = String(r.opts.hostname ?? r.opts.host ?? "localhost");
        let port: number | undefined;
        try {
          const parsed = new URL(r.url);
          host = parsed.hostname;
          port = Number(parsed.port) || undefined;
        } catch {
          // the host as given
        }
        req.destroy(connectError(host, port, j));
      }
      return req;
    };
    out.push(fn);
  }
  return out;
}

export function hookFetch(t: Tracer): string[] {
  const orig = globalThis.fetch;
  const RequestCtor = globalThis.Request;
  if (typeof orig !== "function" || typeof RequestCtor !== "function") return [];
  // The Request the fetch will send is made here, once, with the constructor and getters as
  // they were at load (the program may replace them later): its URL and method are what fetch
  // reads (its internal state), so a URL subclass with its own href, an object whose toString
  // or `url` answers twice differently, or a method getter cannot show the judge one request
  // and send another. fetch is then handed that very Request.
  const proto = RequestCtor.prototype;
  const urlOf = Object.getOwnPropertyDescriptor(proto, "url")?.get;
  const methodOf = Object.getOwnPropertyDescriptor(proto, "method")?.get;
  if (urlOf === undefined || methodOf === undefined) return [];
  globalThis.fetch = function (this: unknown, input: unknown, init?: unknown) {
    let req: Request;
    let url: string;
    let method: string;
    try {
      req = Reflect.construct(RequestCtor, init === undefined ? [input] : [input, init]);
      url = Reflect.apply(urlOf, req, []) as string;
      method = Reflect.apply(methodOf, req, []) as string;
    } catch (e) {
      return Promise.reject(e); // what fetch itself does with input it cannot make a Request of
    }
    const j = t.op("fetch", "fetch", { kind: "http", target: url, method: method.toUpperCase() });
    if (j.verdict === "block") {
      let host = url;
      try {
        host = new URL(url).hostname;
      } catch {}
      return Promise.reject(
        new TypeError("fetch failed", { cause: connectError(host, undefined, j) }),
      );
    }
    return Reflect.apply(orig, this, [req]) as Promise<Response>;
  } as typeof fetch;
  return ["fetch"];
}

export function hookDns(dns: typeof DNS, t: Tracer): string[] {
  const target = dns as unknown as Record<string, AnyFn>;
  const lookup = target.lookup!;
  target.lookup = function (this: unknown, ...args: unknown[]) {
    const host = args[0];
    if (typeof host === "string" && !t.judge.busy) {
      const j = t.op("dns.lookup", "dns", { kind: "dns", target: host });
      if (j.verdict === "block") {
        const cb = args[args.length - 1];
        if (typeof cb === "function") {
          process.nextTick(cb as AnyFn, lookupError(host, j));
          return {};
        }
      }
    }
    return Reflect.apply(lookup, this, args);
  };
  const promises = dns.promises as unknown as Record<string, AnyFn>;
  const plookup = promises.lookup!;
  promises.lookup = function (this: unknown, ...args: unknown[]) {
    const host = args[0];
    if (typeof host === "string") {
      const j = t.op("dns.promises.lookup", "dns", { kind: "dns", target: host });
      if (j.verdict === "block") return Promise.reject(lookupError(host, j));
    }
    return Reflect.apply(plookup, this, args);
  };
  return ["dns.lookup", "dns.promises.lookup"];
}
