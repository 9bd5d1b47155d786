/**
 * The admin API's decision round trip (docs/admin.md): POST /v1/check over loopback HTTP with a
 * keep-alive undici client in the same process (its cost is in the figure), against the example
 * MCP policy; with rules (a CEL rule calling a plugin of the registry, and a YAML rule), and the
 * floor of the stack (GET /healthz). OPA is not installable here: its documentation gives
 * policy evaluation "a budget on the order of 1 millisecond" for API authorization
 * (openpolicyagent.org/docs/policy-performance), which is the figure stated beside ours.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Registry } from "prom-client";
import { Pool } from "undici";
import wabtInit from "wabt";
import { createAdminServer } from "../src/admin/index.js";
import { loadPolicyFileSync } from "../src/policy/index.js";
import { loadRulesOrThrow } from "../src/rules/index.js";
import { PluginRegistry } from "../src/rules/registry/index.js";
import type { Harness } from "./harness.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const POLICY = join(root, "examples/policies/mcp-gateway.yaml");
const OPA_NOTE = "OPA's stated budget for API authorization: ~1 ms per decision";

async function allowPlugin(): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const text = readFileSync(join(root, "test/sandbox/fixtures/allow.wat"), "utf8");
  const m = wabt.parseWat("allow.wat", text, { bulk_memory: true, mutable_globals: true });
  try {
    return new Uint8Array(m.toBinary({}).buffer);
  } finally {
    m.destroy();
  }
}

const RULES = `rules:
  - name: plugin-says
    priority: 1
    condition: 'action_type == "git_log" && !wasm("allow", "evaluate")'
    action: deny
  - name: big-sums
    priority: 2
    conditions:
      - { field: payload.a, operator: gt, value: 1000000 }
    action: review
`;

export default async function admin(h: Harness): Promise<void> {
  const compiled = loadPolicyFileSync(POLICY);
  if (!compiled.ok) throw new Error("the example policy does not compile");
  const policy = compiled.policy;
  const registry = await PluginRegistry.open({ cacheDir: false });
  await registry.register({ name: "allow", bytes: await allowPlugin() });
  const dir = mkdtempSync(join(tmpdir(), "warden-bench-admin-"));
  writeFileSync(join(dir, "rules.yaml"), RULES);
  const rules = loadRulesOrThrow(join(dir, "rules.yaml"), { plugins: registry });
  const servers = await Promise.all(
    [false, true].map((withRules) =>
      createAdminServer({
        listen: { host: "127.0.0.1", port: 0 },
        registry,
        policy: () => policy,
        ...(withRules ? { rules: () => rules } : {}),
        metricsRegistry: new Registry(),
      }),
    ),
  );
  for (const s of servers) await s.listen();
  const pools = servers.map((s) => new Pool(s.url, { connections: 1, pipelining: 1 }));
  const body = JSON.stringify({
    action: { kind: "tool.call", name: "git_log", arguments: { repo: "acme/api", a: 1 } },
  });
  const check = (pool: Pool) => async () => {
    const r = await pool.request({
      path: "/v1/check",
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const text = await r.body.text();
    if (r.statusCode !== 200 || !text.includes('"allowed":true'))
      throw new Error(`unexpected answer ${r.statusCode} ${text}`);
    return text;
  };
  const opts = { samples: h.quick ? 200 : 5000, budgetMs: h.quick ? 1500 : 10_000 };
  await h.measureAsync(
    "GET /healthz (loopback, keep-alive: the stack's floor)",
    async () => {
      const r = await pools[0]!.request({ path: "/healthz", method: "GET" });
      return r.body.text();
    },
    opts,
  );
  await h.measureAsync("POST /v1/check, policy only (loopback round trip)", check(pools[0]!), {
    ...opts,
    note: OPA_NOTE,
  });
  await h.measureAsync(
    "POST /v1/check, policy + 2 rules, one calling a plugin (loopback round trip)",
    check(pools[1]!),
    { ...opts, note: OPA_NOTE },
  );
  await Promise.all(pools.map((p) => p.close()));
  await Promise.all(servers.map((s) => s.close()));
}
