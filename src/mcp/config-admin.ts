/**
 * `admin:` and `wasm:` of warden.yaml (docs/admin.md), after the schema pass: defaults, paths
 * made absolute, and the check a schema cannot make: an admin listener beyond loopback needs
 * TLS and tokens (or allow_insecure), as listen.http does.
 */
import type { ConfigIssueCode } from "./codes.js";
import type { AdminSection, WasmSection } from "./config-types.js";

type Obj = Record<string, unknown>;

/** What of config.ts's Checker this file uses. */
interface Checker {
  obj(v: unknown): Obj | undefined;
  str(o: Obj, k: string): string | undefined;
  strList(o: Obj, k: string): string[];
  int(o: Obj, k: string, dflt: number): number;
  add(path: (string | number)[], message: string, code?: ConfigIssueCode): void;
}

const loopback = (h: string) =>
  /^(localhost|::1|\[::1\]|127\.\d+\.\d+\.\d+)$/.test(h.toLowerCase());

export function adminKeys(
  c: Checker,
  root: Obj,
  abs: (p: string) => string,
  tokens: number,
): { admin?: AdminSection; wasm?: WasmSection } {
  const out: { admin?: AdminSection; wasm?: WasmSection } = {};
  const a = root.admin === null ? {} : c.obj(root.admin);
  if (a) {
    const l = c.obj(a.listen) ?? {};
    const t = c.obj(l.tls);
    const cert = t && c.str(t, "cert");
    const key = t && c.str(t, "key");
    const listen = {
      host: c.str(l, "host") ?? "127.0.0.1",
      port: c.int(l, "port", 8932),
      allowedHosts: c.strList(l, "allowed_hosts"),
      allowInsecure: l.allow_insecure === true,
      ...(cert && key ? { tls: { cert: abs(cert), key: abs(key) } } : {}),
    };
    if (!loopback(listen.host) && !listen.allowInsecure) {
      const missing = [
        listen.tls === undefined ? "TLS (admin.listen.tls)" : "",
        tokens === 0 ? "tokens (auth.tokens)" : "",
      ]
        .filter((x) => x !== "")
        .join(" and ");
      if (missing !== "")
        c.add(
          ["admin", "listen", "host"],
          `admin.listen.host ${listen.host} is reachable beyond this host, without ${missing}: add them, listen on 127.0.0.1, or set admin.listen.allow_insecure: true if a proxy in front provides them.`,
          "insecure_listen",
        );
    }
    out.admin = { listen };
  }
  const w = c.obj(root.wasm);
  if (w) {
    const dir = c.str(w, "plugin_dir");
    out.wasm = {
      enabled: w.enabled === true,
      ...(dir === undefined ? {} : { pluginDir: abs(dir) }),
      defaultMemoryLimitBytes: c.int(w, "default_memory_limit_bytes", 16 * 1024 * 1024),
      defaultTimeoutMs: c.int(w, "default_timeout_ms", 100),
    };
  }
  return out;
}
