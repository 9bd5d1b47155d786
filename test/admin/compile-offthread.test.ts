/**
 * An upload is compiled off the event loop (a worker thread): while a large module is being
 * checked, instrumented and compiled, the admin API still answers /healthz and the list. On a
 * registry that compiled on the event loop, nothing is answered until the compile ends.
 */
import { randomInt } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { watToWasm } from "../sandbox/helpers.js";
import { type Running, registerForm, startAdmin } from "./helpers.js";

/** A valid plugin with `n` looping functions: Binaryen takes a while to instrument it. */
async function bigPlugin(n: number): Promise<Uint8Array> {
  const salt = randomInt(1 << 30); // never in any cache
  const fns: string[] = [];
  for (let i = 0; i < n; i++)
    fns.push(
      `(func $f${i} (param $x i32) (result i32) (local $i i32) (loop $l (local.set $i (i32.add (local.get $i) (i32.const ${i + salt}))) (br_if $l (i32.lt_u (local.get $i) (local.get $x)))) (i32.add (local.get $i) (i32.mul (local.get $x) (i32.const ${i + 7}))))`,
    );
  return watToWasm(
    `(module (memory (export "memory") 1)
      (data (i32.const 16) "{\\"verdict\\":true}")
      (func (export "evaluate") (param i32 i32) (result i64) (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 16)))
      ${fns.join("\n")})`,
    "big.wat",
  );
}

const events: string[] = [];
let admin: Running;
afterAll(() => admin?.close());

describe("compiling off the event loop", () => {
  it("/healthz and the list answer while a large upload compiles; then it is registered and runs", async () => {
    const log = (o: object) => events.push(String((o as { event?: string }).event));
    admin = await startAdmin({
      registry: {
        cacheDir: false,
        log: { debug: log, info: log, warn: log, error: log },
      },
    });
    const bytes = await bigPlugin(300);
    let uploaded = false;
    const upload = fetch(`${admin.url}/v1/wasm/plugins`, {
      method: "POST",
      body: registerForm({ name: "big" }, bytes),
    }).then((r) => {
      uploaded = true;
      return r;
    });
    // the registry says the compile started; then the API must answer before it ends
    while (!events.includes("wasm.plugin.compile") && !uploaded)
      await new Promise((r) => setImmediate(r));
    const health = await fetch(`${admin.url}/healthz`);
    expect(health.status).toBe(200);
    const list = (await (await fetch(`${admin.url}/v1/wasm/plugins`)).json()) as {
      count: number;
    };
    expect(uploaded, "the API answered only after the compile ended").toBe(false);
    expect(list.count).toBe(0);
    expect((await upload).status).toBe(201);
    const t = await fetch(`${admin.url}/v1/wasm/plugins/big/test`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: { action_type: "x" } }),
    });
    expect(await t.json()).toMatchObject({ verdict: true });
  }, 120_000);

  it("a module that is not a plugin is refused with the sandbox's code, from the worker", async () => {
    const r = await fetch(`${admin.url}/v1/wasm/plugins`, {
      method: "POST",
      body: registerForm({ name: "junk" }, new TextEncoder().encode("\0asm junk")),
    });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ code: "compile_error" });
  });
});
