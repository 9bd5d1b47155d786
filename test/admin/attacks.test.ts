/**
 * Attacker tests of the admin API: names that are paths (`../x`, `.hidden`, NUL, `/`, unicode),
 * an upload past the module size limit, multipart bombs (many fields, many files, a huge
 * field), hostile plugins (infinite loop, memory bomb, trap) answering typed errors while the
 * server stays up, and 256 plugins at most (507).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_PLUGINS } from "../../src/rules/registry/index.js";
import { type Running, registerForm, spamPlugin, startAdmin, wat } from "./helpers.js";

let admin: Running;
let spam: Uint8Array;

beforeAll(async () => {
  admin = await startAdmin();
  spam = await spamPlugin();
  await admin.registry.register({ name: "good", bytes: spam });
});
afterAll(() => admin.close());

const upload = (form: FormData) =>
  fetch(`${admin.url}/v1/wasm/plugins`, { method: "POST", body: form });

async function stillServing(): Promise<void> {
  expect((await fetch(`${admin.url}/healthz`)).status).toBe(200);
  const r = await fetch(`${admin.url}/v1/wasm/plugins/good/test`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ input: { action_type: "ok" } }),
  });
  expect(await r.json()).toMatchObject({ verdict: true });
}

describe("names that are paths", () => {
  it("refuses traversal, hidden, NUL, separators, unicode and over-long names with 400", async () => {
    for (const name of [
      "../x",
      "..",
      ".",
      ".hidden",
      "a/b",
      "a\\b",
      "a\u0000b",
      "plugín",
      "ｐｌｕｇｉｎ",
      "a b",
      "x".repeat(129),
      "%2e%2e%2fx",
    ]) {
      const res = await upload(registerForm({ name }, spam));
      expect(res.status, JSON.stringify(name)).toBe(400);
      expect(await res.json()).toMatchObject({ code: "plugin_name_invalid" });
    }
    // nothing but the index and modules named by their sha256 is ever written
    const dir = join(admin.stateDir, "plugins");
    expect(readdirSync(admin.stateDir)).toEqual(["plugins"]);
    expect(readdirSync(dir).sort()).toEqual(["index.json", "modules"]);
    for (const f of readdirSync(join(dir, "modules"))) expect(f).toMatch(/^[0-9a-f]{64}\.wasm$/);
    expect(admin.registry.list().map((p) => p.name)).toEqual(["good"]);
  });

  it("traversal in a path parameter finds no plugin (404), never a file", async () => {
    for (const p of ["..%2F..%2Fetc%2Fpasswd", "%2E%2E", ".hidden", "a%00b"]) {
      const r = await fetch(`${admin.url}/v1/wasm/plugins/${p}`);
      expect(r.status, p).toBe(404);
      const d = await fetch(`${admin.url}/v1/wasm/plugins/${p}`, { method: "DELETE" });
      expect([404]).toContain(d.status);
    }
    expect(admin.registry.has("good")).toBe(true);
  });

  it("accepts the whole alphabet of names, up to 128 characters", async () => {
    const name = `A-z_0.9${"x".repeat(121)}`;
    expect(name.length).toBe(128);
    const res = await upload(registerForm({ name }, spam));
    expect(res.status).toBe(201);
    expect((await fetch(`${admin.url}/v1/wasm/plugins/${name}`, { method: "DELETE" })).status).toBe(
      204,
    );
  });
});

describe("oversized and bomb uploads", () => {
  it("a module past 16 MiB is 413 too_large, and the server goes on", async () => {
    const big = new Uint8Array(16 * 1024 * 1024 + 1);
    big.set([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    const res = await upload(registerForm({ name: "big" }, big));
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "too_large" });
    expect(admin.registry.has("big")).toBe(false);
    await stillServing();
  });

  it("many fields, many files, many parts, a huge field: 413 or 400, nothing registered", async () => {
    const many = registerForm({ name: "bomb1" }, spam);
    for (let i = 0; i < 2000; i++) many.append(`f${i}`, "x");
    const r1 = await upload(many);
    expect([400, 413]).toContain(r1.status);
    const files = registerForm({ name: "bomb2" });
    for (let i = 0; i < 50; i++) files.append("wasm_file", new Blob([spam]), "p.wasm");
    const r2 = await upload(files);
    expect(r2.status).toBe(413);
    expect(await r2.json()).toMatchObject({ code: "admin_too_large" });
    const huge = registerForm({ name: "bomb3", description: "d".repeat(1024 * 1024) }, spam);
    const r3 = await upload(huge);
    expect(r3.status).toBe(413);
    const names = registerForm({}, spam);
    for (let i = 0; i < 20; i++) names.append("name", `n${i}`);
    expect([400, 413]).toContain((await upload(names)).status);
    for (const n of ["bomb1", "bomb2", "bomb3", "n0"]) expect(admin.registry.has(n)).toBe(false);
    await stillServing();
  });

  it("a body that is not multipart is 400, a JSON body past 1 MiB is 413", async () => {
    const r = await fetch(`${admin.url}/v1/wasm/plugins`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: spam,
    });
    expect([400, 415]).toContain(r.status);
    const big = await fetch(`${admin.url}/v1/check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action: { kind: "tool.call", name: "x", pad: "p".repeat(2 << 20) } }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: "admin_too_large" });
  });
});

describe("hostile plugins", () => {
  const test = async (name: string, fn = "evaluate") => {
    const r = await fetch(`${admin.url}/v1/wasm/plugins/${name}/test`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ function: fn, input: {} }),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  it("an infinite loop answers 502 timeout; the server stays up", async () => {
    const res = await upload(registerForm({ name: "loop", timeout_ms: "20" }, await wat("loop")));
    expect(res.status).toBe(201);
    const r = await test("loop");
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: "timeout", details: { plugin: "loop" } });
    await stillServing();
  });

  it("a memory bomb answers 502 memory_exceeded at its limit", async () => {
    const res = await upload(
      // its time limit far off: the memory limit, not the wall clock, must decide on a loaded box
      registerForm(
        { name: "bomb", memory_limit_bytes: String(2 << 20), timeout_ms: "30000" },
        await wat("grow-bomb"),
      ),
    );
    expect(res.status).toBe(201);
    const r = await test("bomb");
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: "memory_exceeded" });
    await stillServing();
  });

  it("traps answer 502 trap with their kind", async () => {
    expect((await upload(registerForm({ name: "traps" }, await wat("traps")))).status).toBe(201);
    for (const [fn, kind] of [
      ["evaluate", "unreachable"],
      ["oob", "out_of_bounds"],
      ["div0", "divide_by_zero"],
      ["recurse", "stack_overflow"],
    ] as const) {
      const r = await test("traps", fn);
      expect(r.status, fn).toBe(502);
      expect(r.body).toMatchObject({ code: "trap", details: { kind } });
    }
    await stillServing();
  });

  it("the failures are counted in wasm_invocation_errors by code", async () => {
    const text = await (await fetch(`${admin.url}/metrics`)).text();
    expect(text).toMatch(/wasm_invocation_errors\{plugin="loop",code="timeout"\} 1/);
    expect(text).toMatch(/wasm_invocation_errors\{plugin="bomb",code="memory_exceeded"\} 1/);
    // a deleted plugin's series go with it (names registered and deleted cannot pile up)
    expect((await fetch(`${admin.url}/v1/wasm/plugins/loop`, { method: "DELETE" })).status).toBe(
      204,
    );
    const after = await (await fetch(`${admin.url}/metrics`)).text();
    expect(after).not.toContain('plugin="loop"');
    expect(after).toContain('plugin="bomb"');
  });
});

describe("capacity", () => {
  it(`refuses the ${MAX_PLUGINS + 1}th plugin with 507 registry_full`, async () => {
    for (let i = admin.registry.size; i < MAX_PLUGINS; i++)
      await admin.registry.register({ name: `p${i}`, bytes: spam });
    expect(admin.registry.size).toBe(MAX_PLUGINS);
    const res = await upload(registerForm({ name: "one-too-many" }, spam));
    expect(res.status).toBe(507);
    expect(await res.json()).toMatchObject({ code: "registry_full" });
    expect((await fetch(`${admin.url}/v1/wasm/plugins/p10`, { method: "DELETE" })).status).toBe(
      204,
    );
    expect((await upload(registerForm({ name: "one-more" }, spam))).status).toBe(201);
  }, 120_000);
});
