// @ts-nocheck: AssemblyScript (load, heap, i32...), compiled by asc, not tsc
// biome-ignore-all lint/suspicious/noDoubleEquals: AssemblyScript, where == compares values
// biome-ignore-all lint/correctness/noUnusedVariables: exports are read by the host
/**
 * A Warden security guard in AssemblyScript, as a core module with the JSON ABI (no component
 * tooling needed). Build: `npx asc guard.ts --outFile secrets-guard.wasm --optimizeLevel 3
 * --runtime incremental --use abort=` (see build.mjs). The incremental runtime collects
 * garbage, so the guard's single long-lived instance does not run out of memory.
 *
 * The host calls `evaluate(ptr, len)` with
 *   {"phase": "...", "context": {...}, "payload": ..., "config": {...}}
 * and reads back {"verdict": bool, "message"?: string, "metadata"?: {...}}:
 *   verdict false                     deny (metadata.code, metadata.details)
 *   verdict true + metadata.warn      warn
 *   verdict true                      allow
 *
 * What it does: it scans the whole document in one pass for credentials an agent must never
 * send or receive (AWS access key ids, PEM private keys, GitHub tokens) and denies the message
 * naming the kind, never the value. It also counts the messages it judged (state kept by its
 * instance) and warns once the count passes config.warn_after (default 1000).
 */

let judged: i32 = 0;

/** The host asks for the input buffer here. */
export function allocate(size: i32): i32 {
  return <i32>heap.alloc(<usize>size);
}

function isUpperOrDigit(c: u8): bool {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
}

function isAlnum(c: u8): bool {
  return isUpperOrDigit(c) || (c >= 0x61 && c <= 0x7a);
}

/** True when the bytes at `p` spell `s` (ASCII). */
function at(p: i32, end: i32, s: string): bool {
  const n = s.length;
  if (p + n > end) return false;
  for (let i = 0; i < n; i++) if (load<u8>(p + i) != <u8>s.charCodeAt(i)) return false;
  return true;
}

/** The first credential in [ptr, ptr+len), or "" when there is none. */
function findSecret(ptr: i32, len: i32): string {
  const end = ptr + len;
  for (let p = ptr; p < end; p++) {
    const c = load<u8>(p);
    if (c == 0x41 /* A */ && (at(p, end, "AKIA") || at(p, end, "ASIA")) && p + 20 <= end) {
      let ok = p == ptr || !isUpperOrDigit(load<u8>(p - 1));
      for (let i = 4; ok && i < 20; i++) ok = isUpperOrDigit(load<u8>(p + i));
      if (ok && (p + 20 == end || !isUpperOrDigit(load<u8>(p + 20)))) return "aws_access_key_id";
    } else if (c == 0x2d /* - */ && at(p, end, "-----BEGIN ")) {
      // -----BEGIN [WORD ]*PRIVATE KEY-----
      for (let q = p + 11; q < end && q < p + 64; q++) {
        if (at(q, end, "PRIVATE KEY-----")) return "private_key";
        const d = load<u8>(q);
        if (!isUpperOrDigit(d) && d != 0x20) break;
      }
    } else if (c == 0x67 /* g */ && at(p, end, "ghp_") && (p == ptr || !isAlnum(load<u8>(p - 1)))) {
      let n = 0;
      while (p + 4 + n < end && isAlnum(load<u8>(p + 4 + n))) n++;
      if (n >= 36) return "github_token";
    }
  }
  return "";
}

/** A non-negative integer following `"key":` anywhere in the document (-1 when absent). */
function intSetting(ptr: i32, len: i32, key: string): i32 {
  const end = ptr + len;
  const pat = '"' + key + '":';
  for (let p = ptr; p < end; p++) {
    if (!at(p, end, pat)) continue;
    let q = p + pat.length;
    while (q < end && load<u8>(q) == 0x20) q++;
    let v = 0;
    let digits = 0;
    while (q < end && load<u8>(q) >= 0x30 && load<u8>(q) <= 0x39 && digits < 9) {
      v = v * 10 + (load<u8>(q) - 0x30);
      q++;
      digits++;
    }
    return digits > 0 ? v : -1;
  }
  return -1;
}

let out: ArrayBuffer = new ArrayBuffer(0);

function reply(json: string): i64 {
  out = String.UTF8.encode(json);
  return ((<i64>changetype<usize>(out)) << 32) | <i64>out.byteLength;
}

export function evaluate(ptr: i32, len: i32): i64 {
  judged++;
  const r = judge(ptr, len);
  // The input buffer came from allocate: give it back (the reply stays alive in `out`).
  heap.free(<usize>ptr);
  return r;
}

function judge(ptr: i32, len: i32): i64 {
  const kind = findSecret(ptr, len);
  if (kind.length > 0)
    return reply(
      '{"verdict":false,"message":"a credential (' +
        kind +
        ') is in this message; it was stopped","metadata":{"code":"secret_in_payload","details":{"kind":"' +
        kind +
        '"}}}',
    );
  let warnAfter = intSetting(ptr, len, "warn_after");
  if (warnAfter < 0) warnAfter = 1000;
  if (judged > warnAfter)
    return reply(
      '{"verdict":true,"metadata":{"warn":["the secrets guard has judged ' +
        judged.toString() +
        " messages (warn_after " +
        warnAfter.toString() +
        ')"]}}',
    );
  return reply('{"verdict":true}');
}
