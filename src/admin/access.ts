/**
 * Who may call the admin API, checked on the request head before any body is read: the Host
 * header (DNS rebinding: loopback names, the listen host, admin.listen.allowed_hosts), the
 * Origin (a browser's request must be same-origin) and a bearer token of the `auth` section
 * (constant time; the caller is the token's name). Routes marked `config: { public: true }`
 * (/healthz) skip the token, never the Host check.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AdminListen, AdminToken } from "./config-types.js";
import { sendError } from "./reply.js";

const LOOPBACK = ["localhost", "127.0.0.1", "[::1]", "::1"];
const digest = (s: string) => createHash("sha256").update(s).digest();

/** Another way to name the caller (e.g. the page's HttpOnly session cookie); undefined: no. */
export type Authenticator = (req: FastifyRequest) => string | undefined;

/** The caller of a request without tokens configured. */
export const ANONYMOUS = "anonymous";

export class AdminAccess {
  readonly #hosts: Set<string>;
  #want: { name: string; hash: Buffer }[];
  readonly #extra: Authenticator[];

  constructor(listen: AdminListen, tokens: readonly AdminToken[], extra: Authenticator[] = []) {
    this.#hosts = new Set([
      ...LOOPBACK,
      ...(listen.allowedHosts ?? []).map((h) => h.toLowerCase()),
    ]);
    if (listen.host !== "0.0.0.0" && listen.host !== "::")
      this.#hosts.add(listen.host.toLowerCase());
    this.#want = tokens.map((t) => ({ name: t.name, hash: digest(`Bearer ${t.secret}`) }));
    this.#extra = extra;
  }

  /** The tokens from now on (a reload of the `auth` section). */
  setTokens(tokens: readonly AdminToken[]): void {
    this.#want = tokens.map((t) => ({ name: t.name, hash: digest(`Bearer ${t.secret}`) }));
  }

  /** Are tokens required? (false: every caller is "anonymous"). */
  get tokens(): boolean {
    return this.#want.length > 0;
  }

  /** The name of the token `authorization` carries (constant time), or undefined. */
  callerOf(authorization: string | undefined): string | undefined {
    const got = digest(authorization ?? "");
    let name: string | undefined;
    for (const w of this.#want) if (timingSafeEqual(got, w.hash)) name ??= w.name;
    return name;
  }

  /** The caller `req` names (its bearer token, or another authenticator), or undefined. */
  identify(req: FastifyRequest): string | undefined {
    let caller = this.callerOf(req.headers.authorization);
    for (const a of this.#extra) caller ??= a(req);
    return caller;
  }

  /** Is this Host header one of the listener's? */
  hostOk(raw: string | undefined): boolean {
    const h = (raw ?? "").toLowerCase();
    const name = h.startsWith("[") ? h.replace(/\]:\d+$/, "]") : h.replace(/:\d+$/, "");
    return this.#hosts.has(name);
  }

  /** The fastify onRequest hook: 403 on a bad Host/Origin, 401 without a right token. */
  hook = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const host = req.headers.host;
    if (!this.hostOk(host)) {
      await sendError(
        reply.header("connection", "close"),
        "admin_forbidden",
        `Host ${JSON.stringify(host ?? "")} is not this admin listener's (DNS rebinding protection); add it to admin.listen.allowed_hosts if it is yours`,
      );
      return reply;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !sameOrigin(origin, host)) {
      await sendError(
        reply.header("connection", "close"),
        "admin_forbidden",
        `Origin ${JSON.stringify(origin)} is not this admin listener's; the admin API answers same-origin browser requests only`,
      );
      return reply;
    }
    const isPublic = (req.routeOptions.config as { public?: boolean } | undefined)?.public === true;
    if (isPublic) return;
    if (!this.tokens) {
      (req as { caller?: string }).caller = ANONYMOUS;
      return;
    }
    const caller = this.identify(req);
    if (caller === undefined) {
      await sendError(
        reply
          .header("www-authenticate", 'Bearer realm="warden-admin"')
          .header("connection", "close"),
        "admin_unauthorized",
        "this admin API needs a bearer token of the auth section: send Authorization: Bearer <token>",
      );
      return reply;
    }
    (req as { caller?: string }).caller = caller;
  };
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return new URL(origin).host.toLowerCase() === (host ?? "").toLowerCase();
  } catch {
    return false;
  }
}

/** The caller the access hook named (a token's name, or "anonymous"). */
export function callerOf(req: FastifyRequest): string {
  return (req as { caller?: string }).caller ?? ANONYMOUS;
}
