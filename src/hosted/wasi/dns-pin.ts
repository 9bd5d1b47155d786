/**
 * DNS pinning for wasi:http: the request goes to exactly the addresses the host judged.
 *
 * preview2-shim sends an outgoing request from its I/O worker (one per component worker
 * thread), with node:http, which resolves the host name again. A DNS server that answers an
 * allowed address to the judging lookup and 169.254.169.254 or 127.0.0.1 to the second one
 * (rebinding) would reach a denied address. So before a judged request is handed to the shim,
 * the host pins the name to the addresses it judged, in the I/O worker, through the shim's
 * extension call (a module the host chooses, loaded once in that worker):
 *
 * - `dns.lookup` of the I/O worker (what node:http and node:tls connect through; the shim's
 *   own ip-name-lookup uses `dns/promises` and is not touched) answers a pinned name with its
 *   pinned addresses only, and a name nobody pinned with ENOTFOUND: an unjudged resolution
 *   never happens (fail closed);
 * - the keep-alive agents' socket key carries the pin, so a pooled connection is reused only
 *   by a request judged on the same addresses, never by a request whose name now resolves to
 *   something else (or was judged under another component's policy).
 *
 * The pin is set synchronously right before the shim creates the request, and node:http looks
 * the name up synchronously while creating it, so each request connects to its own judged
 * addresses. Pins are bounded (the oldest are dropped: a dropped pin fails closed).
 */
import { callExtension } from "@bytecodealliance/preview2-shim/io-worker";

/** The extension, as a module of its own (a data: URL: no file to find, nothing to build). */
const SOURCE = `
import dns from "node:dns";
import http from "node:http";
import net from "node:net";
const MAX = 1024;
const pins = new Map();
const keyOf = (name) => String(name).toLowerCase().replace(/\\.$/, "");
function notFound(name) {
  const e = new Error("getaddrinfo ENOTFOUND " + name + " (Warden: no judged address for this name)");
  e.code = "ENOTFOUND";
  e.errno = -3008;
  e.syscall = "getaddrinfo";
  e.hostname = name;
  return e;
}
dns.lookup = function wardenPinnedLookup(name, options, callback) {
  if (typeof options === "function") { callback = options; options = {}; }
  if (typeof options === "number") options = { family: options };
  options = options || {};
  const fam = options.family === 4 || options.family === 6 ? options.family : 0;
  const ip = net.isIP(String(name));
  const pinned = ip ? [String(name)] : pins.get(keyOf(name));
  const list = (pinned || [])
    .filter((a) => fam === 0 || net.isIP(a) === fam)
    .map((a) => ({ address: a, family: net.isIP(a) }));
  if (list.length === 0) { process.nextTick(callback, notFound(name)); return {}; }
  if (options.all) process.nextTick(callback, null, list);
  else process.nextTick(callback, null, list[0].address, list[0].family);
  return {};
};
const getName = http.Agent.prototype.getName;
http.Agent.prototype.getName = function (options) {
  const base = getName.call(this, options);
  const pin = pins.get(keyOf((options && options.host) || ""));
  return pin === undefined ? base : base + ":warden-pin=" + pin.join(",");
};
export default function create() {
  return (operation, args) => {
    if (operation !== "pin") throw new Error("unknown operation " + operation);
    const [name, addresses] = args;
    const k = keyOf(name);
    pins.delete(k);
    if (pins.size >= MAX) pins.delete(pins.keys().next().value);
    pins.set(k, addresses.map(String));
    return true;
  };
}
`;

const MODULE = new URL(`data:text/javascript;base64,${Buffer.from(SOURCE).toString("base64")}`);

/**
 * Pin `name` (as the shim will look it up: the authority's host) to `addresses` (the judged
 * ones; empty: the request fails to resolve) in this thread's I/O worker.
 */
export function pinHost(name: string, addresses: readonly string[]): void {
  callExtension(MODULE, "pin", [name, [...addresses]]);
}
