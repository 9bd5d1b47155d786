// `warden demo` runs the gateway in front of the example notes server with the example policy
// and reports every decision with its reason (the real CLI, a real SDK client inside).
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CLI } from "./helpers.js";

describe("warden demo: the gateway part", () => {
  it("shows allowed and denied calls at every phase, with rules", () => {
    const r = spawnSync(process.execPath, [CLI, "demo", "--json"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const steps = (
      JSON.parse(r.stdout) as { gateway: { what: string; decision: string; why: string }[] }
    ).gateway;
    const by = Object.fromEntries(steps.map((s) => [s.what, s]));
    expect(by["tools/list"]).toMatchObject({
      decision: "allow",
      why: "hidden by the policy: delete_note",
    });
    expect(by["tools/call read_note public/welcome"]?.why).toMatch(
      /allowed by the rule at .*policy\.yaml:\d+/,
    );
    expect(by["tools/call read_note private/diary"]).toMatchObject({ decision: "deny" });
    expect(by["tools/call read_note private/diary"]?.why).toMatch(/does not match/);
    expect(by["tools/call delete_note public/todo"]?.why).toMatch(/remove or narrow the rule/);
    expect(by["tools/call search_notes #3"]?.why).toMatch(/max_calls_per_minute/);
    expect(by["resources/read notes://private/diary"]).toMatchObject({ decision: "deny" });
    expect(by["resources/read notes://public/todo"]).toMatchObject({ decision: "allow" });
  });
});
