import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/policy/index.js";
import { judgeTraceAction } from "../../src/trace/policy/actions.js";

const r = compilePolicy(
  `version: "1.0"
storage:
  allow: [{ uri: "/**", access: [read, write] }]
  deny: [{ uri: "/home/u/.ssh/**" }, { uri: "/home/u/.bashrc", access: write }]
network:
  allow: [{ host: "registry.npmjs.org" }, { host: "127.0.0.1" }]
environment:
  allow: ["*"]
  deny: ["*TOKEN*"]
commands:
  default: allow
  deny: [curl]
nodejs:
  deny: [eval]
http:
  warn: ["registry.npmjs.org/-/**"]
endpoints:
  deny: ["*:22"]
`,
  { file: "t.yaml" },
);
if (!r.ok) throw new Error(JSON.stringify(r.errors));
const P = r.policy;

describe("trace actions: one place says which sections judge what a process does", () => {
  it("exec, function, env", () => {
    expect(
      judgeTraceAction(P, { kind: "exec", path: "/usr/bin/curl", argv: ["curl"] }).verdict,
    ).toBe("block");
    expect(judgeTraceAction(P, { kind: "exec", path: "/usr/bin/ls", argv: ["ls"] }).verdict).toBe(
      "allow",
    );
    expect(
      judgeTraceAction(P, { kind: "function", runtime: "nodejs", name: "eval" }),
    ).toMatchObject({
      verdict: "block",
      rule: "t.yaml:14",
    });
    expect(judgeTraceAction(P, { kind: "env", key: "GITHUB_TOKEN" }).verdict).toBe("block");
    expect(judgeTraceAction(P, { kind: "env", key: "HOME" }).verdict).toBe("allow");
  });

  it("files: read and execute read; write, edit, delete and create write", () => {
    const f = (path: string, op: "read" | "write" | "edit" | "delete" | "create" | "execute") =>
      judgeTraceAction(P, { kind: "file", path, op }).verdict;
    expect(f("/home/u/.ssh/id_rsa", "read")).toBe("block");
    expect(f("/home/u/.bashrc", "read")).toBe("allow");
    for (const op of ["write", "edit", "delete", "create"] as const)
      expect(f("/home/u/.bashrc", op)).toBe("block");
    expect(f("/home/u/x/../.ssh/id_rsa", "execute")).toBe("block");
  });

  it("http: network decides the host, http the path, endpoints the port; the strictest wins", () => {
    const h = (url: string) => judgeTraceAction(P, { kind: "http", url });
    expect(h("https://registry.npmjs.org/x").verdict).toBe("allow");
    expect(h("https://registry.npmjs.org/-/v1/search").verdict).toBe("warn");
    expect(h("https://evil.com/").verdict).toBe("block");
    expect(h("http://127.0.0.1:22/").verdict).toBe("block");
    expect(h("http://0x7f.1:8080/").verdict).toBe("allow");
  });

  it("connect: network and endpoints", () => {
    const c = (host: string, port: number) =>
      judgeTraceAction(P, { kind: "connect", host, port, protocol: "tcp" });
    expect(c("registry.npmjs.org", 443).verdict).toBe("allow");
    expect(c("registry.npmjs.org", 22).verdict).toBe("block");
    expect(c("evil.com", 443).verdict).toBe("block");
  });
});
