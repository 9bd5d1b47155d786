/**
 * Policy engine: p50/p99 per check for the issue's cases at 9, 20 and 500 rules, side by side
 * with @casl/ability and @cedar-policy/cedar-wasm (preparsed policy set, statefulIsAuthorized)
 * making the same decisions (test/policy/engines-agree.test.ts proves they agree), and the
 * compile time of a 500-rule policy. Cedar runs in a child process started with
 * --no-turbo-inline-js-wasm-calls (cedar-wasm can abort V8 on Node 20 without it), measured
 * there with this same harness.
 */
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createMongoAbility, subject } from "@casl/ability";
import { parseDocument } from "yaml";
import { compilePolicy } from "../src/policy/index.js";
import type { CaseResult, Harness } from "./harness.js";
import { BENCH_CASES, ruleSet } from "./policy-cases.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");

function cedarResults(h: Harness, size: number, policies: string): CaseResult[] {
  const requests = BENCH_CASES.map((c) => ({
    name: `${c.name} @${size} [cedar]`,
    cedar: c.cedar,
    note: `cedar-wasm, ${size} rules`,
  }));
  const out = spawnSync(
    process.execPath,
    ["--no-turbo-inline-js-wasm-calls", join(root, "bench/policy-cedar-child.mjs")],
    {
      input: JSON.stringify({
        mode: "bench",
        policies,
        requests,
        harness: join(here, "harness.js"),
        quick: h.quick,
      }),
      encoding: "utf8",
      maxBuffer: 1 << 24,
    },
  );
  if (out.status !== 0) throw new Error(`cedar child failed (${out.status}): ${out.stderr}`);
  return (JSON.parse(out.stdout) as { results: CaseResult[] }).results;
}

function ratio(a: number, b: number): string {
  const r = b / a;
  return r >= 100 ? `${Math.round(r)}x` : `${r.toFixed(1)}x`;
}

export default async function policyBench(h: Harness): Promise<void> {
  const wardenAt = new Map<string, number>();
  for (const size of [9, 20, 500]) {
    const rules = ruleSet(size);
    const compiled = compilePolicy(rules.yaml, { file: `bench-${size}.yaml` });
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
    const policy = compiled.policy;
    const ability = createMongoAbility(rules.casl as never);

    const casl = new Map<string, number>();
    for (const c of BENCH_CASES) {
      const subj = subject(c.casl.type, { ...c.casl.fields }) as never;
      const r = h.measure(`${c.name} @${size} [casl]`, () => ability.can(c.casl.action, subj), {
        note: `@casl/ability, ${size} rules`,
        budgetMs: h.quick ? 200 : 700,
      });
      casl.set(c.name, r.p50_ns);
    }
    const cedar = new Map<string, number>();
    for (const r of cedarResults(h, size, rules.cedar)) {
      h.record(r);
      cedar.set(r.name.replace(/ @\d+ \[cedar\]$/, ""), r.p50_ns);
    }
    for (const c of BENCH_CASES) {
      const action = c.action;
      const want = c.allowed;
      if (policy.check(action).allowed !== want) throw new Error(`warden got ${c.name} wrong`);
      const r = h.measure(`${c.name} @${size} [warden]`, () => policy.check(action), {
        note: `warden, ${size} rules`,
        budgetMs: h.quick ? 200 : 700,
      });
      const base = wardenAt.get(c.name);
      if (size === 9) wardenAt.set(c.name, r.p50_ns);
      r.note = `warden, ${size} rules; CASL ${ratio(r.p50_ns, casl.get(c.name)!)} slower, Cedar ${ratio(r.p50_ns, cedar.get(c.name)!)} slower${base ? `; ${(r.p50_ns / base).toFixed(2)}x the 9-rule time` : ""}`;
    }
  }
  const yaml500 = ruleSet(500).yaml;
  const first = compilePolicy(yaml500);
  if (!first.ok) throw new Error("the 500-rule policy does not compile");
  h.measure(
    "compile a 500-rule policy, YAML (parse + validate + build + freeze)",
    () => compilePolicy(yaml500),
    {
      batch: 1,
      samples: h.quick ? 20 : 100,
      note: "goal < 5 ms; the yaml package's parse is most of it",
    },
  );
  const json500 = JSON.stringify(parseDocument(yaml500).toJS(), null, 2);
  h.measure("compile a 500-rule policy, JSON (same policy)", () => compilePolicy(json500), {
    batch: 1,
    samples: h.quick ? 20 : 100,
    note: "goal < 5 ms; JSON.parse + one position scan",
  });
}
