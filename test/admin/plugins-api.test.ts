/**
 * The seed's /v1/wasm/plugins API over real HTTP with real modules: register (201, the seed's
 * body), list, get, test, enable/disable, delete (204), and every error status.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Running, registerForm, spamPlugin, startAdmin, wat } from "./helpers.js";

let admin: Running;
let spam: Uint8Array;

beforeAll(async () => {
  admin = await startAdmin();
  spam = await spamPlugin();
});
afterAll(() => admin.close());

const post = (path: string, body: FormData | object) =>
  fetch(`${admin.url}${path}`, {
    method: "POST",
    ...(body instanceof FormData
      ? { body }
      : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });

describe("POST /v1/wasm/plugins", () => {
  it("registers a plugin and answers 201 with the seed's body", async () => {
    const res = await post(
      "/v1/wasm/plugins",
      registerForm(
        {
          name: "spam-check",
          description: "Block spam",
          memory_limit_bytes: "16777216",
          timeout_ms: "100",
        },
        spam,
      ),
    );
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(
      [
        "description",
        "enabled",
        "memory_limit_bytes",
        "name",
        "registered_at",
        "timeout_ms",
      ].sort(),
    );
    expect(body).toMatchObject({
      name: "spam-check",
      description: "Block spam",
      enabled: true,
      memory_limit_bytes: 16777216,
      timeout_ms: 100,
    });
    expect(new Date(body.registered_at as string).toISOString()).toBe(body.registered_at);
  });

  it("409 for a name registered already", async () => {
    const res = await post("/v1/wasm/plugins", registerForm({ name: "spam-check" }, spam));
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: "plugin_exists" });
  });

  it("400 with the sandbox's code for a module that is not a plugin", async () => {
    const junk = await post(
      "/v1/wasm/plugins",
      registerForm({ name: "junk" }, new TextEncoder().encode("not wasm at all")),
    );
    expect(junk.status).toBe(400);
    expect(await junk.json()).toMatchObject({ code: "compile_error" });
    const link = await post(
      "/v1/wasm/plugins",
      registerForm({ name: "env" }, await wat("link-env")),
    );
    expect(link.status).toBe(400);
    expect(await link.json()).toMatchObject({ code: "link_error" });
    const sig = await post(
      "/v1/wasm/plugins",
      registerForm({ name: "sig" }, await wat("wrong-signature")),
    );
    expect(sig.status).toBe(400);
    expect(await sig.json()).toMatchObject({ code: "missing_export" });
  });

  it("422 for limits out of range (memory over 256 MiB, timeout 0 or over 30 s, not a number)", async () => {
    for (const [k, v] of [
      ["memory_limit_bytes", String(256 * 1024 * 1024 + 65536)],
      ["timeout_ms", "0"],
      ["timeout_ms", "30001"],
      ["timeout_ms", "-5"],
      ["memory_limit_bytes", "16MB"],
    ] as const) {
      const res = await post("/v1/wasm/plugins", registerForm({ name: "lim", [k]: v }, spam));
      expect(res.status, `${k}=${v}`).toBe(422);
      expect(await res.json()).toMatchObject({ code: "invalid_limit" });
    }
    expect(admin.registry.has("lim")).toBe(false);
  });

  it("400 for a missing name or file, an unknown field, enabled not a boolean", async () => {
    const cases: [FormData, string][] = [
      [registerForm({}, spam), "name"],
      [registerForm({ name: "x" }), "wasm_file"],
      [registerForm({ name: "x", color: "red" }, spam), "color"],
      [registerForm({ name: "x", enabled: "yes" }, spam), "enabled"],
      [registerForm({ name: "x" }, spam, "module"), "module"],
    ];
    for (const [form, word] of cases) {
      const res = await post("/v1/wasm/plugins", form);
      expect(res.status, word).toBe(400);
      const body = (await res.json()) as { code: string; message: string };
      expect(body.code).toBe("admin_bad_request");
      expect(body.message).toContain(word);
    }
    const json = await post("/v1/wasm/plugins", { name: "x" });
    expect(json.status).toBe(400);
  });

  it("registers disabled with enabled=false", async () => {
    const res = await post(
      "/v1/wasm/plugins",
      registerForm({ name: "off", enabled: "false" }, spam),
    );
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ enabled: false });
  });
});

describe("GET, PATCH, test, DELETE", () => {
  it("lists plugins with their counters, and gets one", async () => {
    const res = await fetch(`${admin.url}/v1/wasm/plugins`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { plugins: Record<string, unknown>[]; count: number };
    expect(body.count).toBe(body.plugins.length);
    const p = body.plugins.find((x) => x.name === "spam-check")!;
    expect(p).toMatchObject({
      description: "Block spam",
      enabled: true,
      invocation_count: 0,
      last_invoked_at: null,
    });
    expect(typeof p.registered_at).toBe("string");
    const one = await fetch(`${admin.url}/v1/wasm/plugins/spam-check`);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ name: "spam-check", invocation_count: 0 });
    const missing = await fetch(`${admin.url}/v1/wasm/plugins/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({
      error: "plugin not found",
      code: "plugin_not_found",
    });
  });

  it("tests a plugin with the seed's input and answers verdict, message, metadata, duration_us", async () => {
    const input = {
      namespace: "test",
      tenant: "test",
      provider: "test",
      action_type: "spam",
      payload: { key: "value" },
      metadata: {},
    };
    const no = await post("/v1/wasm/plugins/spam-check/test", { function: "evaluate", input });
    expect(no.status).toBe(200);
    const b = (await no.json()) as Record<string, unknown>;
    expect(b).toMatchObject({ verdict: false, message: "spam actions are blocked", metadata: {} });
    expect(typeof b.duration_us).toBe("number");
    const yes = await post("/v1/wasm/plugins/spam-check/test", {
      input: { ...input, action_type: "notification" },
    });
    expect(await yes.json()).toMatchObject({
      verdict: true,
      message: "ok",
      metadata: { score: 1 },
    });
    const listed = await (await fetch(`${admin.url}/v1/wasm/plugins/spam-check`)).json();
    expect(listed).toMatchObject({ invocation_count: 2 });
    expect(typeof (listed as { last_invoked_at: unknown }).last_invoked_at).toBe("string");
    const missingFn = await post("/v1/wasm/plugins/spam-check/test", { function: "nope", input });
    expect(missingFn.status).toBe(400);
    expect(await missingFn.json()).toMatchObject({ code: "missing_export" });
    const extra = await post("/v1/wasm/plugins/spam-check/test", { input, extra: 1 });
    expect(extra.status).toBe(400);
    const none = await post("/v1/wasm/plugins/nope/test", { input });
    expect(none.status).toBe(404);
  });

  it("enables and disables with PATCH", async () => {
    const patch = (name: string, body: unknown) =>
      fetch(`${admin.url}/v1/wasm/plugins/${name}`, {
        method: "PATCH",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      });
    const r = await patch("off", { enabled: true });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ name: "off", enabled: true });
    expect((await patch("off", { enabled: "yes" })).status).toBe(400);
    expect((await patch("nope", { enabled: true })).status).toBe(404);
    const d = await patch("off", { enabled: false });
    expect(await d.json()).toMatchObject({ enabled: false });
    expect(() => admin.registry.invoke("off", "evaluate", {})).toThrow(/disabled/);
  });

  it("deletes with 204, then 404", async () => {
    const del = await fetch(`${admin.url}/v1/wasm/plugins/off`, { method: "DELETE" });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe("");
    const again = await fetch(`${admin.url}/v1/wasm/plugins/off`, { method: "DELETE" });
    expect(again.status).toBe(404);
  });

  it("unknown routes are 404 with a code, /healthz answers", async () => {
    const r = await fetch(`${admin.url}/v1/nothing`);
    expect(r.status).toBe(404);
    expect(await r.json()).toMatchObject({ code: "admin_route_not_found" });
    expect(await (await fetch(`${admin.url}/healthz`)).json()).toEqual({ status: "ok" });
  });
});
