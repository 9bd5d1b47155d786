/**
 * Rules in the real gateway (`warden gateway` over stdio, driven by the SDK's client): the
 * policy runs first and its deny is final; a call the policy allows but a rule denies is
 * refused with -32003 naming the rule, and audited with rule_id = the rule's name and rule =
 * its file:line; a plugin that traps follows on_error; the rules file is reloaded when edited.
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  FIXTURE_POLICY,
  stdioGatewayClient,
  stdioUpstream,
  tempDir,
  until,
  writeGatewayFiles,
} from "../mcp/helpers.js";
import { FIXTURES, watToWasm } from "../sandbox/helpers.js";
import { pluginDir } from "./build.js";

const RULES = `rules:
  - name: no-secrets
    priority: 1
    conditions:
      - { field: payload.text, operator: contains, value: sec }
    action: deny
    description: secrets stay home
  - name: allow-everything
    priority: 100
    conditions: []
    action: allow
  - name: plugin-gate
    priority: 2
    wasm_plugin: trapper
    conditions:
      - { field: action_type, operator: eq, value: add }
      - { field: payload.a, operator: eq, value: 13 }
    action: log
`;

let plugins: string;
beforeAll(async () => {
  plugins = await pluginDir();
}, 180_000);

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c().catch(() => {});
});

async function gateway(rules = RULES) {
  const dir = tempDir();
  copyFileSync(join(plugins, "trapper.wasm"), join(dir, "trapper.wasm"));
  writeFileSync(join(dir, "rules.yaml"), rules);
  const file = writeGatewayFiles(
    dir,
    `listen: stdio
policy: policy.yaml
rules: rules.yaml
wasm: { plugin_dir: ".", default_timeout_ms: 50 }
audit: { file: audit.jsonl, arguments: full }
upstreams:
${stdioUpstream("fx")}`,
    FIXTURE_POLICY,
  );
  const { client, transport } = await stdioGatewayClient(file);
  closers.push(() => client.close());
  let stderr = "";
  transport.stderr?.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  const audit = () =>
    existsSync(join(dir, "audit.jsonl"))
      ? readFileSync(join(dir, "audit.jsonl"), "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];
  return { client, dir, audit, stderr: () => stderr };
}

describe("rules in the gateway", () => {
  it("a tools/call the policy allows but a rule denies is refused with -32003 naming the rule, and audited", async () => {
    const { client, audit } = await gateway();
    const ok = await client.callTool({ name: "echo", arguments: { text: "hello" } });
    expect(JSON.stringify(ok.content)).toContain("hello");
    const err = await client
      .callTool({ name: "echo", arguments: { text: "a secret" } })
      .catch((e: unknown) => e as { code: number; message: string; data: Record<string, unknown> });
    expect(err).toMatchObject({
      code: -32003,
      data: {
        warden: "rule_denied",
        by: "rules",
        ruleId: "no-secrets",
        rule: expect.stringMatching(/rules\.yaml:2$/),
      },
    });
    expect((err as { message: string }).message).toMatch(
      /Warden denied .*rule "no-secrets" \(.*rules\.yaml:2\) matched: secrets stay home/,
    );
    await until(() => audit().some((l) => l.rule_id === "no-secrets"));
    const line = audit().find((l) => l.rule_id === "no-secrets")!;
    expect(line).toMatchObject({
      phase: "decision",
      decision: "deny",
      code: "rule_denied",
      method: "tools/call",
      name: "echo",
      rule: expect.stringMatching(/rules\.yaml:2$/),
    });
    expect(line.verdict).toBeUndefined();
  });

  it("the policy's deny is final: an allow rule does not let a denied tool through", async () => {
    const { client } = await gateway(`rules:
  - name: allow-all
    conditions: []
    action: allow
`);
    const err = await client.callTool({ name: "stats", arguments: {} }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: -32003, data: { by: "policy" } });
  });

  it("a plugin that traps follows on_error (deny), and the gateway keeps serving; a fixed plugin file is picked up", async () => {
    const { client, audit, dir, stderr } = await gateway();
    const err = await client
      .callTool({ name: "add", arguments: { a: 13, b: 1 } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: -32003,
      data: { warden: "rule_plugin_error", ruleId: "plugin-gate" },
    });
    expect((err as Error).message).toMatch(/could not be evaluated \(rules_plugin_failed: .*trap/);
    const sum = await client.callTool({ name: "add", arguments: { a: 1, b: 2 } });
    expect(JSON.stringify(sum.content)).toContain("3");
    await until(() => audit().some((l) => l.rule_id === "plugin-gate"));
    // wasm.plugin_dir is followed: a fixed plugin replaces the trapping one, no restart
    writeFileSync(
      join(dir, "trapper.wasm"),
      await watToWasm(readFileSync(join(FIXTURES, "allow.wat"), "utf8"), "allow.wat"),
    );
    // (add is rate limited to 3 a minute by the policy: one more call only)
    await until(() => /loaded plugin "trapper" from .*trapper\.wasm/.test(stderr()));
    const fixed = await client.callTool({ name: "add", arguments: { a: 13, b: 1 } });
    expect(JSON.stringify(fixed.content)).toContain("14");
  });

  it("a warn rule lets the call through, and its decision line names the rule", async () => {
    const { client, audit } = await gateway(`rules:
  - name: warn-adds
    conditions: [ { field: action_type, operator: eq, value: add } ]
    action: warn
    description: adds are watched
`);
    const sum = await client.callTool({ name: "add", arguments: { a: 2, b: 2 } });
    expect(JSON.stringify(sum.content)).toContain("4");
    await until(() => audit().some((l) => l.rule_id === "warn-adds"));
    expect(audit().find((l) => l.rule_id === "warn-adds")).toMatchObject({
      phase: "decision",
      decision: "allow",
      rule: expect.stringMatching(/rules\.yaml:2$/),
      reason: expect.stringContaining("adds are watched"),
    });
  });

  it("prompts/get and resources/read are judged by the rules too; review is refused as rule_review and audited as a review", async () => {
    const { client, audit } = await gateway(`rules:
  - name: no-prompts
    conditions: [ { field: metadata.method, operator: eq, value: prompts/get } ]
    action: review
  - name: no-static
    conditions: [ { field: action_type, operator: eq, value: "test://static-text" } ]
    action: deny
`);
    const p = await client.getPrompt({ name: "test_simple_prompt" }).catch((e: unknown) => e);
    expect(p).toMatchObject({
      code: -32003,
      data: { warden: "rule_review", ruleId: "no-prompts", review: true },
    });
    expect((p as Error).message).toMatch(/rule "no-prompts" \(.*rules\.yaml:2\).*review/);
    const r = await client.readResource({ uri: "test://static-text" }).catch((e: unknown) => e);
    expect(r).toMatchObject({ code: -32003, data: { warden: "rule_denied", ruleId: "no-static" } });
    await until(() => audit().some((l) => l.rule_id === "no-prompts"));
    expect(audit().find((l) => l.rule_id === "no-prompts")).toMatchObject({
      phase: "decision",
      decision: "deny",
      verdict: "review",
      code: "rule_review",
    });
  });

  it("an edited rules file is reloaded; a broken one is rejected and the old rules keep running", async () => {
    const { client, dir, stderr } = await gateway();
    const deniedHello = async () =>
      client
        .callTool({ name: "echo", arguments: { text: "hello" } })
        .then(() => false)
        .catch(() => true);
    expect(await deniedHello()).toBe(false);
    writeFileSync(
      join(dir, "rules.yaml"),
      "rules:\n  - name: no-hello\n    conditions: [ { field: payload.text, operator: eq, value: hello } ]\n    action: deny\n",
    );
    await until(deniedHello, 10_000, "the new rules to deny hello");
    writeFileSync(join(dir, "rules.yaml"), "rules:\n  - name: broken\n    action: nope\n");
    // the broken version is rejected, named with its place: hello stays denied
    await until(() => /rejected the new rules[\s\S]*rules\.yaml:3:13 rules_schema/.test(stderr()));
    expect(await deniedHello()).toBe(true);
  });
});
