/**
 * The issuer's keys: a JWKS file read once at start, or the issuer's `jwks_uri` fetched by
 * jose's remote key set (cached for 10 minutes, fetched again on a `kid` it does not know at
 * most once per `jwks_cooldown_seconds`), through a fetch that bounds the answer's size and time.
 */
import { readFileSync } from "node:fs";
import { createLocalJWKSet, createRemoteJWKSet, customFetch, type JSONWebKeySet } from "jose";
import { WardenError } from "../core/errors.js";
import type { OAuthSettings } from "./types.js";

/** The largest JWKS answer accepted (a key set is a few kB). */
export const MAX_JWKS_BYTES = 256 * 1024;
/** How long a JWKS fetch may take. */
export const JWKS_TIMEOUT_MS = 5_000;
/** How long fetched keys are used before they are fetched again. */
export const JWKS_MAX_AGE_MS = 10 * 60_000;

export type KeyGetter = ReturnType<typeof createLocalJWKSet>;

/** A fetch whose answer body is read up to `max` bytes (then refused). */
export function boundedFetch(max: number) {
  return async (url: string, init: RequestInit): Promise<Response> => {
    const res = await fetch(url, init);
    const reader = res.body?.getReader();
    const chunks: Uint8Array[] = [];
    let n = 0;
    if (reader)
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        n += value.byteLength;
        if (n > max) {
          await reader.cancel().catch(() => {});
          throw new Error(`the answer is larger than ${max} bytes`);
        }
        chunks.push(value);
      }
    return new Response(Buffer.concat(chunks), { status: res.status, headers: res.headers });
  };
}

/** Read a JWKS file (at start): throws `config_invalid`-worthy errors naming the file. */
function readJwksFile(file: string): JSONWebKeySet {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new WardenError(
      "issuer_unavailable",
      `auth.oauth.jwks_file ${file} cannot be read as JSON: ${(e as Error).message}. Point it at the issuer's JWKS ({"keys": [...]}).`,
      { category: "config", cause: e, details: { file } },
    );
  }
  const keys = (json as { keys?: unknown }).keys;
  if (!Array.isArray(keys))
    throw new WardenError(
      "issuer_unavailable",
      `auth.oauth.jwks_file ${file} is not a JWKS: it has no "keys" list.`,
      { category: "config", details: { file } },
    );
  return json as JSONWebKeySet;
}

/** What the issuer's keys are looked up with, and how many times they were fetched. */
export interface KeySource {
  readonly get: KeyGetter;
  readonly where: string;
  /**
   * Which fetch of the issuer's keys is in force: it changes with each JWKS fetch (a refresh),
   * and is undefined while one is under way, so that what was verified with older keys is
   * verified again (absent: the keys never change, e.g. a JWKS file).
   */
  readonly epoch?: () => number | undefined;
  /**
   * Are the keys in force young enough to be used without asking the key set (false: due for a
   * refresh, which only the key set's `get` starts; absent: they never age)?
   */
  readonly fresh?: () => boolean;
  /** What /readyz may say of the keys (remote keys only): states, never error text. */
  readonly state?: () => KeysState;
}

/** The issuer's keys as /readyz reports them. */
export interface KeysState {
  /** The last fetch of the JWKS: answered (200), failed, or none yet. */
  readonly issuer: "reachable" | "unreachable" | "not_asked";
  /** Seconds since the keys in use were fetched (absent: never fetched). */
  readonly jwks_age_seconds?: number;
}

export function keySource(s: OAuthSettings): KeySource {
  if (s.jwksFile !== undefined)
    return { get: createLocalJWKSet(readJwksFile(s.jwksFile)), where: s.jwksFile };
  const uri = s.jwksUri as string;
  const bounded = boundedFetch(MAX_JWKS_BYTES);
  let fetches = 0;
  let fetchedAt: number | undefined;
  let last: KeysState["issuer"] = "not_asked";
  const remote = createRemoteJWKSet(new URL(uri), {
    timeoutDuration: JWKS_TIMEOUT_MS,
    cooldownDuration: s.jwksCooldownSeconds * 1000,
    cacheMaxAge: JWKS_MAX_AGE_MS,
    [customFetch]: async (url: string, init: RequestInit) => {
      fetches++;
      try {
        const res = await bounded(url, init);
        last = res.status === 200 ? "reachable" : "unreachable";
        if (res.status === 200) fetchedAt = Date.now();
        return res;
      } catch (e) {
        last = "unreachable";
        throw e;
      }
    },
  });
  return {
    get: remote as unknown as KeyGetter,
    where: uri,
    // jose's `reloading` stays true until the fetched keys are in force
    epoch: () => (remote.reloading ? undefined : fetches),
    fresh: () => remote.fresh,
    state: () =>
      fetchedAt === undefined
        ? { issuer: last }
        : { issuer: last, jwks_age_seconds: Math.floor((Date.now() - fetchedAt) / 1000) },
  };
}
