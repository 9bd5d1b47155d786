// The Node agent judges with the process policy's sections too: `http` URL patterns and
// `endpoints` (host:port) refuse a fetch / connect before it leaves (the sink sees nothing),
// `nodejs` names eval, new Function and vm (a named one is judged, reported, and refused as the
// runtime refuses code generation), and a program may still set an environment variable it has
// while a policy judges the environment (npm does). Each failed on the agent before.
import { describe, expect, it } from "vitest";
import { tempDir, tracedApp, useHttpSink } from "./helpers.js";

const held = useHttpSink();

const traced = (dir: string, policy: string, app: string, env: NodeJS.ProcessEnv = {}) =>
  tracedApp(dir, policy, app, { args: [String(held.current.port)], env });

describe("warden run: the Node agent judges with the process sections", () => {
  it("refuses a fetch by URL pattern (http) and a connect by host:port (endpoints); the sink sees only the allowed request", async () => {
    held.current.paths.length = 0;
    const dir = tempDir();
    const { out, events } = await traced(
      dir,
      `version: "1.0"
http:
  deny: ["127.0.0.1:*/secret/*"]
endpoints:
  deny: ["127.0.0.1:9"]
`,
      `const net = require("net");
const base = "http://127.0.0.1:" + process.argv[2];
const out = [];
const end = () => { if (out.length === 3) console.error(JSON.stringify({ out: out.sort() })); };
fetch(base + "/secret/key").then(() => { out.push("secret: FETCHED"); end(); }, (e) => { out.push("secret: " + e.cause.code + " " + /Warden/.test(e.cause.message)); end(); });
fetch(base + "/public").then((r) => r.text()).then((t) => { out.push("public: " + t); end(); }, (e) => { out.push("public: " + e.message); end(); });
net.connect(9, "127.0.0.1").on("connect", () => { out.push("port 9: CONNECTED"); end(); }).on("error", (e) => { out.push("port 9: " + e.code); end(); });
`,
    );
    expect(out).toEqual(["port 9: ECONNREFUSED", "public: ok", "secret: ECONNREFUSED true"]);
    expect(held.current.paths).toEqual(["/public"]);
    const blocked = events.filter((e) => e.verdict === "block");
    expect(blocked.map((e) => [e.function, e.rule_id])).toEqual(
      expect.arrayContaining([
        ["js:fetch", "http.deny[0]"],
        ["js:net.connect", "endpoints.deny[0]"],
      ]),
    );
  }, 120_000);

  it("judges eval, new Function and vm where nodejs names them; a blocked one is an EvalError naming Warden", async () => {
    const dir = tempDir();
    const { out, events } = await traced(
      dir,
      `version: "1.0"
nodejs:
  deny: [eval, { "vm.runInNewContext": ["*secret*"] }]
  warn: [Function]
`,
      `const vm = require("vm");
const out = [];
try { eval("1 + 1"); out.push("eval: ran"); } catch (e) { out.push("eval: " + e.name + " " + /Warden/.test(e.message)); }
out.push("Function: " + new Function("a", "return a * 2")(21));
out.push("constructor: " + (function () {}).constructor("return 7")());
out.push("vm plain: " + vm.runInNewContext("6 * 7"));
try { vm.runInNewContext("'secret'"); out.push("vm secret: ran"); } catch (e) { out.push("vm secret: " + e.name); }
console.error(JSON.stringify({ out }));
`,
    );
    expect(out).toEqual([
      "eval: EvalError true",
      "Function: 42",
      "constructor: 7",
      "vm plain: 42",
      "vm secret: EvalError",
    ]);
    const seen = events
      .filter((e) => e.function !== "exec" && !e.function.startsWith("js:fs."))
      .map((e) => [e.function, e.verdict]);
    expect(seen).toEqual([
      ["js:eval", "block"],
      ["js:Function", "warn"],
      ["js:Function", "warn"],
      ["js:vm.runInNewContext", "block"],
    ]);
  }, 120_000);

  it("lets a program set an environment variable it has while the environment is judged", async () => {
    const dir = tempDir();
    const { out } = await traced(
      dir,
      `version: "1.0"
environment:
  deny:
    - { key: SECRET_TOKEN }
  allow:
    - { key: "*" }
`,
      `process.env.HOME_SET = "1"; process.env.PATH = process.env.PATH + ":/x"; process.env.SECRET_TOKEN = "mine";
console.error(JSON.stringify({ out: [process.env.HOME_SET, String(process.env.PATH.endsWith(":/x")), String(process.env.SECRET_TOKEN)] }));`,
      { SECRET_TOKEN: "hunter2" },
    );
    expect(out).toEqual(["1", "true", "undefined"]);
  }, 120_000);

  it("Warden's own variables are not the program's: never judged or reported, while a secret key is hidden", async () => {
    const dir = tempDir();
    const { out, events } = await traced(
      dir,
      `version: "1.0"
environment:
  deny:
    - { key: "*TOKEN*" }
  allow:
    - { key: "*" }
`,
      `const copy = { ...process.env };
console.error(JSON.stringify({ out: [String(typeof process.env.WARDEN_TRACE_TOKEN), String("WARDEN_TRACE_TOKEN" in copy), String(process.env.API_TOKEN), String("API_TOKEN" in copy)] }));`,
      { API_TOKEN: "hunter2" },
    );
    expect(out).toEqual(["string", "true", "undefined", "false"]);
    expect(events.filter((e) => e.target.startsWith("WARDEN_TRACE_"))).toEqual([]);
    expect(events.some((e) => e.target === "API_TOKEN" && e.verdict === "block")).toBe(true);
  }, 120_000);
});
