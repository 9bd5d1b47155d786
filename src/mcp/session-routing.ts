/**
 * `state.sessions` put together at the gateway's start (docs/scale-out.md, "Sessions"): the
 * shared secret read from its environment variable, this instance's endpoint, and the
 * forwarder on the HTTP front over the session directory in Redis.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { WardenError } from "../core/errors.js";
import { type DirectoryRedis, SessionDirectory } from "../state/sessions.js";
import { instanceUrlProblem } from "./config-sessions.js";
import type { HttpListenConfig, SessionRoutingConfig } from "./config-types.js";
import { SessionForwarder } from "./http-forward.js";
import type { HttpFront } from "./http-front.js";

/** The shortest secret accepted (an HMAC key guessable by brute force is no key). */
const MIN_SECRET = 32;
/** Replaces state.sessions.instance_url (one config file, one endpoint per instance). */
export const INSTANCE_URL_ENV = "WARDEN_INSTANCE_URL";

/** state.sessions.secret_env's value; throws config_invalid when it is unset or short. */
export function sessionSecret(cfg: SessionRoutingConfig): string {
  const v = process.env[cfg.secretEnv];
  if (v === undefined || v.length < MIN_SECRET)
    throw new WardenError(
      "config_invalid",
      `state.sessions.secret_env names $${cfg.secretEnv}, which is ${v === undefined ? "not set" : `only ${v.length} characters`}: export the same secret of at least ${MIN_SECRET} characters to every instance (e.g. openssl rand -hex 32).`,
      { category: "config" },
    );
  return v;
}

/**
 * state.sessions.tls.ca's PEM, read at the start; throws config_invalid naming the key and the
 * file when it cannot be read or holds no certificate (a CA that verifies nothing would refuse
 * every https owner at the first forward instead).
 */
export function sessionCa(cfg: SessionRoutingConfig): string | undefined {
  const file = cfg.caFile;
  if (file === undefined) return undefined;
  const bad = (why: string) =>
    new WardenError(
      "config_invalid",
      `state.sessions.tls.ca names ${file}, which ${why}: give the PEM file of the CA that signed the other instances' certificates (relative to warden.yaml).`,
      { category: "config" },
    );
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (e) {
    throw bad(`cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw bad("holds no PEM certificate");
  for (const b of blocks)
    try {
      new X509Certificate(b);
    } catch (e) {
      throw bad(`holds a certificate that does not parse (${(e as Error).message})`);
    }
  return pem;
}

/**
 * This instance's MCP endpoint for the others: $WARDEN_INSTANCE_URL, else instance_url, else
 * the address it listens on (127.0.0.1 when it listens on every address) and its path.
 */
export function instanceUrl(cfg: SessionRoutingConfig, l: HttpListenConfig, port: number): string {
  const env = process.env[INSTANCE_URL_ENV];
  if (env !== undefined && env !== "") {
    const bad = instanceUrlProblem(env);
    if (bad !== undefined)
      throw new WardenError(
        "config_invalid",
        `$${INSTANCE_URL_ENV} is ${bad}: give this instance's MCP endpoint as the other instances reach it, e.g. http://10.0.0.5:8931/mcp.`,
        { category: "config" },
      );
    return env;
  }
  if (cfg.instanceUrl !== undefined) return cfg.instanceUrl;
  const any = l.host === "0.0.0.0" || l.host === "::";
  const host = any ? "127.0.0.1" : l.host.includes(":") ? `[${l.host}]` : l.host;
  return `${l.tls === undefined ? "http" : "https"}://${host}:${port}${l.path}`;
}

/**
 * With state.sessions.tls.ca the instances talk TLS: this instance must advertise an https URL
 * (the others refuse to forward to an http one). Throws config_invalid saying what to give.
 */
export function checkInstanceTls(cfg: SessionRoutingConfig, l: HttpListenConfig): void {
  if (cfg.caFile === undefined) return;
  const self = instanceUrl(cfg, l, l.port);
  if (new URL(self).protocol === "https:") return;
  throw new WardenError(
    "config_invalid",
    `state.sessions.tls.ca is set (TLS between instances), but this instance advertises ${self}, which the others would refuse: give listen.http.tls (the default instance URL is then https), or an https state.sessions.instance_url / $${INSTANCE_URL_ENV} (e.g. TLS terminated in front of it).`,
    { category: "config" },
  );
}

/** Route the front's sessions through the directory in `redis` (started by the front's owner). */
export function routeSessions(
  front: HttpFront,
  redis: DirectoryRedis,
  opts: {
    cfg: SessionRoutingConfig;
    secret: string;
    self: string;
    /** state.sessions.tls.ca's PEM (sessionCa). */
    ca?: string;
    maxBody: number;
    prefix?: string;
    log: (line: string) => void;
    /** A request refused because the directory cannot be read (counted for /metrics). */
    unavailable?: () => void;
  },
): SessionForwarder {
  const dir = new SessionDirectory(redis, {
    self: opts.self,
    secret: opts.secret,
    ttlMs: opts.cfg.ttlMs,
    ...(opts.prefix === undefined ? {} : { prefix: opts.prefix }),
  });
  const fwd = new SessionForwarder(dir, {
    maxBody: opts.maxBody,
    maxForwards: opts.cfg.maxForwards,
    forwardTimeoutMs: opts.cfg.forwardTimeoutMs,
    ...(opts.ca === undefined ? {} : { ca: opts.ca }),
    live: () => front.sessions.keys(),
    refused: (r, caller) => front.onrefused(r, caller),
    ...(opts.unavailable === undefined ? {} : { unavailable: opts.unavailable }),
  });
  fwd.log = opts.log;
  front.forwarder = fwd;
  fwd.start();
  return fwd;
}
