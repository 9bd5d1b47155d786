/** Admin API test helpers: a real server on a loopback port, real plugins built from WAT. */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import {
  type AdminServer,
  type AdminServerOptions,
  createAdminServer,
} from "../../src/admin/index.js";
import { loadPolicyFileSync } from "../../src/policy/index.js";
import { PluginRegistry, type RegistryOptions } from "../../src/rules/registry/index.js";
import { FIXTURES, watToWasm } from "../sandbox/helpers.js";

export const tempDir = (p = "warden-admin-") => mkdtempSync(join(tmpdir(), p));

/** A sandbox fixture (test/sandbox/fixtures/<name>.wat) as module bytes. */
export async function wat(name: string): Promise<Uint8Array> {
  return watToWasm(readFileSync(join(FIXTURES, `${name}.wat`), "utf8"), `${name}.wat`);
}

/** A plugin answering the seed's verdict: false when the action_type is "spam". */
export const SPAM_WAT = `
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 16) "{\\"verdict\\":true,\\"message\\":\\"ok\\",\\"metadata\\":{\\"score\\":1}}")
  (data (i32.const 256) "{\\"verdict\\":false,\\"message\\":\\"spam actions are blocked\\"}")
  (data (i32.const 512) "\\"spam\\"")
  (func (export "allocate") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (local.get $p))
  ;; true unless the input contains the 6 bytes "spam" (with quotes)
  (func (export "evaluate") (param $ptr i32) (param $len i32) (result i64)
    (local $i i32)
    (block $done
      (loop $scan
        (br_if $done (i32.gt_s (i32.add (local.get $i) (i32.const 6)) (local.get $len)))
        (if (i32.and
              (i32.eq (i32.load (i32.add (local.get $ptr) (local.get $i))) (i32.load (i32.const 512)))
              (i32.eq (i32.load16_u (i32.add (local.get $ptr) (i32.add (local.get $i) (i32.const 4))))
                      (i32.load16_u (i32.const 516))))
          (then (return (i64.or (i64.shl (i64.const 256) (i64.const 32)) (i64.const 54)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 54))))
`;

export const spamPlugin = () => watToWasm(SPAM_WAT, "spam.wat");

export const POLICY = join(FIXTURES, "..", "..", "..", "examples", "policies", "mcp-gateway.yaml");

export interface Running {
  server: AdminServer;
  registry: PluginRegistry;
  url: string;
  stateDir: string;
  metrics: Registry;
  close(): Promise<void>;
}

/** Start a registry and an admin server on 127.0.0.1, any free port. */
export async function startAdmin(
  opts: Omit<Partial<AdminServerOptions>, "registry"> & {
    registry?: RegistryOptions;
    policyFile?: string;
  } = {},
): Promise<Running> {
  const stateDir = opts.registry?.stateDir ?? tempDir();
  const metrics = new Registry();
  const { WasmMetrics } = await import("../../src/admin/metrics.js");
  const wasmMetrics = new WasmMetrics(metrics);
  const registry = await PluginRegistry.open({
    stateDir,
    cacheDir: false,
    observer: wasmMetrics,
    ...opts.registry,
  });
  const file = opts.policyFile ?? POLICY;
  const policy = loadPolicyFileSync(file);
  if (!policy.ok) throw new Error(`policy ${file} does not compile`);
  const server = await createAdminServer({
    listen: { host: "127.0.0.1", port: 0 },
    policy: () => policy.policy,
    metricsRegistry: metrics,
    wasmMetrics,
    ...opts,
    registry,
  });
  await server.listen();
  return {
    server,
    registry,
    url: server.url,
    stateDir,
    metrics,
    close: () => server.close(),
  };
}

/** POST /v1/wasm/plugins as curl -F does. */
export function registerForm(
  fields: Record<string, string>,
  wasm?: Uint8Array,
  fileField = "wasm_file",
): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (wasm) form.append(fileField, new Blob([wasm]), "plugin.wasm");
  return form;
}

export interface AdminAnswer {
  status: number;
  text: string;
  /** The body parsed when it is JSON, else {}. */
  json: Record<string, unknown>;
}

/**
 * Requests to the admin listener at `base()` with `Bearer token` (another token per request, or
 * null for none): the answer's status, text and JSON.
 */
export function adminRequests(base: () => string, token: string) {
  return async (
    method: string,
    path: string,
    body?: unknown,
    as: string | null = token,
  ): Promise<AdminAnswer> => {
    const headers: Record<string, string> = {};
    if (as !== null) headers.authorization = `Bearer ${as}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const r = await fetch(`${base()}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    return {
      status: r.status,
      text,
      json: /json/.test(r.headers.get("content-type") ?? "")
        ? (JSON.parse(text) as Record<string, unknown>)
        : {},
    };
  };
}
