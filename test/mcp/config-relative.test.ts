// Relative paths of warden.yaml mean files beside it, whatever directory the gateway starts in:
// a command upstream runs in the config's folder unless `cwd` says otherwise. WARDEN_PORT
// (warden gateway --port) replaces listen.http.port.
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";

const parse = (text: string) => parseConfig(`policy: p.yaml\n${text}`, "/cfg/warden.yaml");

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("relative paths", () => {
  it("run a command upstream in the config's folder, or in its cwd relative to it", () => {
    const r = parse(
      "upstreams:\n  - { name: a, command: node, args: [./srv.mjs] }\n  - { name: b, command: node, cwd: sub }\n",
    );
    expect(r.ok && r.config.upstreams.map((u) => (u.kind === "stdio" ? u.cwd : ""))).toEqual([
      "/cfg",
      "/cfg/sub",
    ]);
  });
});

describe("WARDEN_PORT", () => {
  const http = "listen: { http: { port: 8931 } }\nupstreams: [{ name: a, command: x }]\n";
  const port = () => {
    const r = parse(http);
    return r.ok && r.config.listen.kind === "http" ? r.config.listen.port : r;
  };

  it("replaces listen.http.port (0: any free port)", () => {
    expect(port()).toBe(8931);
    vi.stubEnv("WARDEN_PORT", "0");
    expect(port()).toBe(0);
    vi.stubEnv("WARDEN_PORT", "9100");
    expect(port()).toBe(9100);
  });

  it("refuses a value that is not a port, at listen.http.port", () => {
    for (const v of ["http", "-1", "65536", "80.5"]) {
      vi.stubEnv("WARDEN_PORT", v);
      const r = parse(http);
      expect(r.ok).toBe(false);
      if (!r.ok)
        expect(r.errors.map((e) => `${e.code} ${e.key} ${e.line}`)).toEqual([
          "invalid_value listen.http.port 2",
        ]);
    }
  });
});
