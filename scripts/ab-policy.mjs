#!/usr/bin/env node
/**
 * A/B of two builds' policy checks in one process, with CASL alongside: each bench case at 9, 20
 * and 500 rules (bench/policy-cases.ts), the three interleaved in 5 rounds (Harness.interleave),
 * so all see the same machine. On the project's noisy VM this is the comparison that holds when
 * separate bench runs move 2x.
 *
 *   npm run build && npx tsc -p tsconfig.bench.json          # this checkout's dist/, dist-bench/
 *   git worktree add ../wt-old <commit> --detach && (cd ../wt-old && ln -s ../main/node_modules . && npx tsc -p tsconfig.build.json)
 *   node scripts/ab-policy.mjs ../wt-old [case-prefix ...]    # SIZES=9 to pick sizes
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createMongoAbility, subject } from "@casl/ability";

const [otherRoot, ...prefixes] = process.argv.slice(2);
if (!otherRoot) {
  process.stderr.write(
    "usage: node scripts/ab-policy.mjs <other checkout with dist/> [case-prefix ...]\n",
  );
  process.exit(2);
}
const here = resolve(import.meta.dirname, "..");
const load = (root, file) => import(pathToFileURL(resolve(root, file)).href);
const { compilePolicy: newCompile } = await load(here, "dist/policy/index.js");
const { compilePolicy: oldCompile } = await load(otherRoot, "dist/policy/index.js");
const { Harness } = await load(here, "dist-bench/bench/harness.js");
const { BENCH_CASES, ruleSet } = await load(here, "dist-bench/bench/policy-cases.js");

const h = new Harness({});
const sizes = (process.env.SIZES ?? "9,20,500").split(",").map(Number);
const sets = sizes.map((s) => {
  const r = ruleSet(s);
  const n = newCompile(r.yaml);
  const o = oldCompile(r.yaml);
  if (!n.ok || !o.ok) throw new Error(`the ${s}-rule policy does not compile`);
  return { s, n: n.policy, o: o.policy, ability: createMongoAbility(r.casl) };
});
// a rehearsal of every case on both builds first (JIT and GC settle)
const rehearsal = new Harness({ quick: true });
for (const { n, o } of sets)
  for (const c of BENCH_CASES) {
    rehearsal.measure(c.name, () => n.check(c.action));
    rehearsal.measure(c.name, () => o.check(c.action));
  }
const picked = BENCH_CASES.filter(
  (c) => !c.minSize && (prefixes.length === 0 || prefixes.some((p) => c.name.startsWith(p))),
);
console.log("case | CASL p50 | other p50 (CASL ÷) | this p50 (CASL ÷)");
for (const { s, n, o, ability } of sets) {
  for (const c of picked) {
    const subj = subject(c.casl.type, { ...c.casl.fields });
    const a = c.action;
    if (n.check(a).allowed !== o.check(a).allowed)
      throw new Error(`the builds disagree on ${c.name}`);
    const [ca, ol, ne] = h.interleave(
      [
        { name: "casl", fn: () => ability.can(c.casl.action, subj) },
        { name: "other", fn: () => o.check(a) },
        { name: "this", fn: () => n.check(a) },
      ],
      { budgetMs: 700 },
    );
    const x = (r) => `${r.p50_ns} ns (${(ca.p50_ns / r.p50_ns).toFixed(1)}x)`;
    console.log(`${c.name} @${s} | ${ca.p50_ns} ns | ${x(ol)} | ${x(ne)}`);
  }
}
