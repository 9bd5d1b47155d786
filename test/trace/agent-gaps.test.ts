// Gaps of the Node agent an attacker would use (issue 22), each refused on the old agent:
// the async, generator and async generator function constructors (reached as
// `(async function () {}).constructor`, not globals) made code from strings around a policy that
// denies `Function`; and a `nodejs` section naming `child_process.exec` was never asked (only
// `commands` judged a spawn). One traced run per policy, its output read back.
import { describe, expect, it } from "vitest";
import { tempDir, tracedApp } from "./helpers.js";

const traced = (policy: string, app: string) => tracedApp(tempDir(), policy, app);

/** Each way to a function constructor, run and reported as `name: result or error`. */
const CONSTRUCTORS = `
const out = [];
const tryIt = (name, f) => { try { out.push(name + ": " + f()); } catch (e) { out.push(name + ": " + e.name + (/Warden/.test(e.message) ? " Warden" : "")); } };
const AsyncFunction = (async function () {}).constructor;
const GeneratorFunction = Object.getPrototypeOf(function* () {}).constructor;
const AsyncGeneratorFunction = (async function* () {}).constructor;
tryIt("Function", () => typeof new Function("return 1"));
tryIt("AsyncFunction", () => typeof new AsyncFunction("return 1"));
tryIt("AsyncFunction call", () => typeof AsyncFunction("return 1"));
tryIt("GeneratorFunction", () => typeof GeneratorFunction("yield 1"));
tryIt("AsyncGeneratorFunction", () => typeof new AsyncGeneratorFunction("yield 1"));
tryIt("prototype of AsyncFunction", () => typeof new (Object.getPrototypeOf(AsyncFunction))("return 1"));
tryIt("prototype of Function", () => typeof Object.getPrototypeOf(Function).constructor("return 1"));
// What the constructors make still works as natively.
tryIt("instanceof", () => (async () => {}) instanceof AsyncFunction && GeneratorFunction.name);
console.error(JSON.stringify({ out }));
`;

describe("warden run: Node agent gaps", () => {
  it("a policy denying Function also refuses the async, generator and async generator function constructors", async () => {
    const { out, events } = await traced(
      `version: "1.0"
nodejs:
  deny: [Function]
`,
      CONSTRUCTORS,
    );
    expect(out).toEqual([
      "Function: EvalError Warden",
      "AsyncFunction: EvalError Warden",
      "AsyncFunction call: EvalError Warden",
      "GeneratorFunction: EvalError Warden",
      "AsyncGeneratorFunction: EvalError Warden",
      "prototype of AsyncFunction: EvalError Warden",
      "prototype of Function: EvalError Warden",
      "instanceof: GeneratorFunction",
    ]);
    const blocked = events.filter((e) => e.verdict === "block").map((e) => e.function);
    expect(blocked).toEqual([
      "js:Function",
      "js:AsyncFunction",
      "js:AsyncFunction",
      "js:GeneratorFunction",
      "js:AsyncGeneratorFunction",
      "js:Function",
      "js:Function",
    ]);
    expect(events.find((e) => e.function === "js:AsyncFunction")?.rule_id).toBe("nodejs.deny[0]");
  }, 60_000);

  it("each constructor is judged by its own name where the nodejs section names it; a review without a terminal refuses", async () => {
    const { out, events } = await traced(
      `version: "1.0"
nodejs:
  deny: [AsyncGeneratorFunction]
  warn: [AsyncFunction]
  review: [GeneratorFunction]
`,
      CONSTRUCTORS,
    );
    expect(out).toEqual([
      "Function: function",
      "AsyncFunction: function",
      "AsyncFunction call: function",
      "GeneratorFunction: EvalError Warden",
      "AsyncGeneratorFunction: EvalError Warden",
      "prototype of AsyncFunction: function",
      "prototype of Function: function",
      "instanceof: GeneratorFunction",
    ]);
    const seen = events
      .filter((e) => e.function !== "exec" && !e.function.startsWith("js:fs."))
      .map((e) => [e.function, e.verdict]);
    expect(seen).toEqual([
      ["js:AsyncFunction", "warn"],
      ["js:AsyncFunction", "warn"],
      ["js:GeneratorFunction", "review"],
      ["js:AsyncGeneratorFunction", "block"],
    ]);
  }, 60_000);

  it("judges child_process functions the nodejs section names, as well as the program by commands", async () => {
    const { out, events } = await traced(
      `version: "1.0"
nodejs:
  deny: ["child_process.exec", { "child_process.execSync": ["*curl*"] }]
  warn: ["child_process.execFile"]
commands:
  allow: ["*"]
`,
      `const cp = require("child_process");
const out = [];
const done = () => { if (out.length === 6) console.error(JSON.stringify({ out: out.sort() })); };
cp.exec("echo from-exec", (e, so) => { out.push("exec: " + (e ? e.code + (/Warden/.test(e.message) ? " Warden" : "") : so.trim())); done(); });
cp.execFile("echo", ["from-execFile"], (e, so) => { out.push("execFile: " + (e ? e.code : so.trim())); done(); });
cp.spawn("echo", ["x"]).on("exit", (c) => { out.push("spawn: " + c); done(); });
try { out.push("execSync: " + cp.execSync("echo curl-ish").toString().trim()); } catch (e) { out.push("execSync: " + e.code + (/Warden/.test(e.message) ? " Warden" : "")); }
out.push("execSync plain: " + cp.execSync("echo plain").toString().trim());
const r = cp.spawnSync("echo", ["sync"]); out.push("spawnSync: " + r.stdout.toString().trim());
done();
`,
    );
    expect(out).toEqual([
      "exec: ENOENT Warden",
      "execFile: from-execFile",
      "execSync plain: plain",
      "execSync: ENOENT Warden",
      "spawn: 0",
      "spawnSync: sync",
    ]);
    const of = (fn: string) =>
      events.filter((e) => e.function === fn).map((e) => [e.verdict, e.rule_id ?? ""]);
    expect(of("js:child_process.exec")).toEqual([["block", "nodejs.deny[0]"]]);
    expect(of("js:child_process.execFile")).toEqual([["warn", "nodejs.warn[0]"]]);
    expect(of("js:child_process.execSync")).toEqual([
      ["block", "nodejs.deny[1]"],
      ["allow", "commands.allow[0]"],
    ]);
    // A form the section does not name is judged by commands alone, under its usual name.
    expect(of("js:child_process.spawn")).toEqual([["allow", "commands.allow[0]"]]);
  }, 60_000);
});
