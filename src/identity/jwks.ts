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
}

export function keySource(s: OAuthSettings): KeySource {
  if (s.jwksFile !== undefined)
    return { get: createLocalJWKSet(readJwksFile(s.jwksFile)), where: s.jwksFile };
  const uri = s.jwksUri as string;
  const get = createRemoteJWKSet(new URL(uri), {
    timeoutDuration: JWKS_TIMEOUT_MS,
    cooldownDuration: s.jwksCooldownSeconds * 1000,
    cacheMaxAge: JWKS_MAX_AGE_MS,
    [customFetch]: boundedFetch(MAX_JWKS_BYTES),
  }) as unknown as KeyGetter;
  return { get, where: uri };
}
