import { spawnSync } from "node:child_process";
import { createMongoAbility, subject } from "@casl/ability";
import { describe, expect, it } from "vitest";
import {
  BENCH_CASES,
  caslNormalized,
  EXTRA_CASES,
  expectedAllowed,
  FIRST_SIGHT_INPUTS,
  firstSight,
  ruleSet,
} from "../../bench/policy-cases.js";
import { compilePolicy } from "../../src/policy/index.js";

/** The bench's first-sight inputs (a spread of them): the decision of the case they vary. */
const FIRST_SIGHT = BENCH_CASES.flatMap((c) =>
  [0, 1, 255, 4095, FIRST_SIGHT_INPUTS - 1].flatMap((i) => {
    const v = firstSight(c, i);
    return v === undefined ? [] : [{ ...v, name: `${c.name}, first sight #${i}` }];
  }),
);
const CASES = [...BENCH_CASES, ...EXTRA_CASES, ...FIRST_SIGHT];

function cedarDecisions(policies: string): string[] {
  const out = spawnSync(
    process.execPath,
    ["--no-turbo-inline-js-wasm-calls", "bench/policy-cedar-child.mjs"],
    { input: JSON.stringify({ mode: "decide", policies, requests: CASES }), encoding: "utf8" },
  );
  expect(out.status, out.stderr).toBe(0);
  return (JSON.parse(out.stdout) as { decisions: string[] }).decisions;
}

describe.each([9, 20, 500])("Warden, Cedar and CASL agree at %i rules", (size) => {
  const rules = ruleSet(size);
  const compiled = compilePolicy(rules.yaml, { file: `bench-${size}.yaml` });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  const policy = compiled.policy;
  const ability = createMongoAbility(rules.casl as never);
  const cedar = cedarDecisions(rules.cedar);

  it.each(CASES.map((c, i) => [c.name, c, i] as const))("%s", (_name, c, i) => {
    const warden = policy.check(c.action);
    const casl = ability.can(c.casl.action, subject(c.casl.type, { ...c.casl.fields }) as never);
    const want = expectedAllowed(c, size);
    expect({ warden: warden.allowed, cedar: cedar[i] === "allow", casl }).toEqual({
      warden: want,
      cedar: want,
      casl: want,
    });
  });

  // What the bench times as [casl+normalize]: CASL on Warden's raw URI, normalized per call.
  it.each(CASES.filter((c) => c.action.kind === "storage.read").map((c) => [c.name, c] as const))(
    "CASL on the raw URI, normalized: %s",
    (_name, c) => {
      expect(caslNormalized(ability, c)).toBe(expectedAllowed(c, size));
    },
  );

  it("the generated policy has the rule count it claims", () => {
    expect(rules.cedar.split("\n").length).toBe(size);
    expect(rules.casl.length).toBe(size);
  });
});
