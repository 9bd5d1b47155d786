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
import { type CaseResult, Harness } from "./harness.js";
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
  const sizes = [9, 20, 500];
  const sets = sizes.map((size) => {
    const rules = ruleSet(size);
    const compiled = compilePolicy(rules.yaml, { file: `bench-${size}.yaml` });
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
    return {
      size,
      rules,
      policy: compiled.policy,
      ability: createMongoAbility(rules.casl as never),
    };
  });
  const peer = new Map<string, number>(); // "case@size:engine" → p50

  // Peers first: CASL in this process, Cedar in its own (see cedarResults).
  for (const { size, rules, ability } of sets) {
    for (const c of BENCH_CASES) {
      const subj = subject(c.casl.type, { ...c.casl.fields }) as never;
      const r = h.measure(`${c.name} @${size} [casl]`, () => ability.can(c.casl.action, subj), {
        note: `@casl/ability, ${size} rules`,
        budgetMs: h.quick ? 200 : 700,
      });
      peer.set(`${c.name}@${size}:casl`, r.p50_ns);
    }
    for (const r of cedarResults(h, size, rules.cedar)) {
      h.record(r);
      peer.set(`${r.name.replace(/ @\d+ \[cedar\]$/, "")}@${size}:cedar`, r.p50_ns);
    }
  }

  // Warden: check every answer, warm every policy on every case, then measure.
  for (const { policy } of sets) {
    for (const c of BENCH_CASES) {
      if (policy.check(c.action).allowed !== c.allowed)
        throw new Error(`warden got ${c.name} wrong`);
    }
  }
  // A rehearsal through the same harness, not recorded: on this VM the first pass after the
  // peers' runs measures up to 2x slow (JIT and GC settling), which would skew the 9-rule column.
  const rehearsal = new Harness({ quick: true });
  for (const { policy } of sets) {
    for (const c of BENCH_CASES) rehearsal.measure(c.name, () => policy.check(c.action));
  }
  const at9 = new Map<string, number>();
  for (const { size, policy } of sets) {
    for (const c of BENCH_CASES) {
      const action = c.action;
      const r = h.measure(`${c.name} @${size} [warden]`, () => policy.check(action), {
        note: `warden, ${size} rules`,
        budgetMs: h.quick ? 200 : 700,
      });
      if (size === 9) at9.set(c.name, r.p50_ns);
      const base = at9.get(c.name)!;
      r.note = `warden, ${size} rules; CASL ${ratio(r.p50_ns, peer.get(`${c.name}@${size}:casl`)!)} slower, Cedar ${ratio(r.p50_ns, peer.get(`${c.name}@${size}:cedar`)!)} slower${size === 9 ? "" : `; ${(r.p50_ns / base).toFixed(2)}x the 9-rule time`}`;
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
      note: "goal < 5 ms; read by the YAML subset reader (src/policy/yaml-lite.ts)",
    },
  );
  const json500 = JSON.stringify(parseDocument(yaml500).toJS(), null, 2);
  h.measure("compile a 500-rule policy, JSON (same policy)", () => compilePolicy(json500), {
    batch: 1,
    samples: h.quick ? 20 : 100,
    note: "goal < 5 ms; JSON.parse + one position scan",
  });
}
