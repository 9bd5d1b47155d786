import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { asSecretsGuard, watGuard } from "./build.js";
import { gatewayWith, type Running, textOf, upstream } from "./gateway-helpers.js";

let trap = "";
let loop = "";
let secrets = "";
beforeAll(async () => {
  trap = await watGuard("trap-guard");
  loop = await watGuard("loop-guard");
  secrets = asSecretsGuard();
}, 120_000);

const wasm = (id: string, file: string, extra = "") =>
  `  - id: ${id}\n    type: wasm\n    module_path: ${JSON.stringify(file)}\n    runs_on: [tool_invoke]\n${extra}`;

let g: Running | undefined;
afterEach(async () => {
  await g?.stop();
  g = undefined;
});

describe("failing guards through the gateway", () => {
  it("fail_open: a trapping and a looping guard are skipped, the call goes through, the audit says so", async () => {
    g = await gatewayWith(
      upstream("mail", "clean"),
      wasm("trap", trap, "    failure_mode: fail_open\n") +
        wasm("loop", loop, "    failure_mode: fail_open\n    timeout_ms: 20\n") +
        wasm("secrets", secrets),
    );
    const c = await g.client();
    expect(
      textOf(await c.callTool({ name: "send_email", arguments: { to: "team", body: "hi" } })),
    ).toBe("sent to team");
    const note = g.audit().find((l) => l.kind === "guard" && l.method === "tools/call");
    expect(note).toMatchObject({
      decision: "allow",
      guards: [
        expect.objectContaining({
          guard: "trap",
          outcome: "failed",
          code: "trap",
          failureMode: "fail_open",
        }),
        expect.objectContaining({
          guard: "loop",
          outcome: "failed",
          code: "timeout",
          failureMode: "fail_open",
        }),
        expect.objectContaining({ guard: "secrets", outcome: "allow" }),
      ],
    });
    expect(String(note!.reason)).toContain('guard "loop" failed on tool_invoke (timeout:');
    expect(String(note!.reason)).toContain("skipped because its failure_mode is fail_open");
    // The AssemblyScript guard still judges: a credential in the arguments is stopped.
    await expect(
      c.callTool({ name: "send_email", arguments: { to: "x", body: "key AKIAIOSFODNN7EXAMPLE" } }),
    ).rejects.toThrow(/a credential \(aws_access_key_id\) is in this message/);
  }, 30_000);

  it("fail_closed (the default): a trapping guard denies the call, naming the guard and the trap", async () => {
    g = await gatewayWith(upstream("mail", "clean"), wasm("trap", trap));
    const c = await g.client();
    await expect(
      c.callTool({ name: "send_email", arguments: { to: "a", body: "b" } }),
    ).rejects.toThrow(
      /guard "trap" failed on tool_invoke \(trap: .*unreachable.*\); denied because its failure_mode is fail_closed/,
    );
  }, 30_000);

  it("fail_closed: a looping guard is stopped at its timeout, the call is denied, the gateway keeps serving", async () => {
    g = await gatewayWith(upstream("mail", "clean"), wasm("loop", loop, "    timeout_ms: 25\n"));
    const c = await g.client();
    for (let i = 0; i < 3; i++) {
      await expect(
        c.callTool({ name: "send_email", arguments: { to: "a", body: "b" } }),
      ).rejects.toThrow(/guard "loop" failed on tool_invoke \(timeout: .*timeout_ms=25/);
    }
    // Listing is not judged by this guard and still works.
    expect((await c.listTools()).tools.map((t) => t.name)).toEqual(["send_email", "search"]);
  }, 30_000);
});
