// Cedar (cedar-wasm) in its own process: on Node 20, cedar-wasm can abort V8 unless node
// runs with --no-turbo-inline-js-wasm-calls, so bench/policy.bench.ts and the agreement test
// start this file with that flag. Input (stdin, JSON): { policies, requests: [{name, cedar}],
// mode: "decide" | "bench", harness?: path of the compiled bench harness, quick?, note? }.
// Output (stdout, JSON): { decisions: ["allow"|"deny"...] } or { results: CaseResult[] }.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);
const cedar = require("@cedar-policy/cedar-wasm/nodejs");

let input = "";
for await (const chunk of process.stdin) input += chunk;
const job = JSON.parse(input);

const setId = "bench";
const parsed = cedar.preparsePolicySet(setId, { staticPolicies: job.policies });
if (parsed.type !== "success") {
  process.stderr.write(`cedar: cannot parse the policy set: ${JSON.stringify(parsed.errors)}\n`);
  process.exit(3);
}

function call(req) {
  return {
    principal: { type: "User", id: "agent" },
    action: { type: "Action", id: req.action },
    resource: { type: "Res", id: "r" },
    context: req.context,
    entities: [],
    preparsedPolicySetId: setId,
  };
}

function decide(req) {
  const ans = cedar.statefulIsAuthorized(call(req));
  if (ans.type !== "success") throw new Error(`cedar failed: ${JSON.stringify(ans.errors)}`);
  return ans.response.decision;
}

if (job.mode === "decide") {
  process.stdout.write(JSON.stringify({ decisions: job.requests.map((r) => decide(r.cedar)) }));
} else {
  const { Harness } = await import(pathToFileURL(job.harness).href);
  const h = new Harness({ quick: job.quick === true });
  h.group = "policy";
  for (const r of job.requests) {
    const c = call(r.cedar);
    h.measure(r.name, () => cedar.statefulIsAuthorized(c), {
      note: r.note,
      budgetMs: job.quick ? 150 : 600,
      samples: job.quick ? 30 : 300,
    });
  }
  process.stdout.write(JSON.stringify({ results: h.results }));
}
