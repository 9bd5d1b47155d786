// telemetry.otlp in warden.yaml: validated with the file, line and key like the other keys; the
// endpoint from OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT only when the config has none (the config
// wins); accepted without an audit section (spans from the records built in memory); refused
// with an endpoint that is not http(s), or with none.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/mcp/config.js";
import { otlpKeys } from "../../src/mcp/config-telemetry.js";

const base = (otlp: string, audit = "audit: true\n") =>
  `listen: { http: { port: 0 } }\npolicy: ./policy.yaml\n${audit}telemetry:\n  otlp: ${otlp}\nupstreams:\n  - name: a\n    url: http://127.0.0.1:9/mcp\n`;

describe("telemetry.otlp config", () => {
  it("takes the endpoint and the bounds, /v1/traces appended to a base URL", () => {
    const r = parseConfig(
      base("{ endpoint: http://collector:4318, max_queue: 10, service_name: gw1 }"),
      "/etc/warden/warden.yaml",
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.otlp).toMatchObject({
      url: "http://collector:4318/v1/traces",
      maxQueue: 10,
      serviceName: "gw1",
      timeoutMs: 5000,
    });
    const full = parseConfig(base("{ endpoint: https://c.example/otlp/v1/traces }"), "/w.yaml");
    expect(full.ok && full.config.otlp?.url).toBe("https://c.example/otlp/v1/traces");
  });

  it("takes it without an audit section: no audit file is needed for spans", () => {
    const noAudit = parseConfig(base("{ endpoint: http://c:4318 }", ""), "/w.yaml");
    expect(noAudit.ok && noAudit.config.audit).toBeUndefined();
    expect(noAudit.ok && noAudit.config.otlp?.url).toBe("http://c:4318/v1/traces");
  });

  it("refuses a bad endpoint or an unknown key, located", () => {
    const bad = parseConfig(base("{ endpoint: ftp://c:4318 }"), "/w.yaml");
    expect(bad.ok).toBe(false);
    if (!bad.ok)
      expect(bad.errors).toContainEqual(
        expect.objectContaining({ key: "telemetry.otlp.endpoint", line: 5 }),
      );
    const unknown = parseConfig(base("{ endpoint: http://c:4318, queue: 3 }"), "/w.yaml");
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.errors[0]).toMatchObject({ code: "unknown_key", line: 5 });
  });

  it("reads OTEL_EXPORTER_OTLP_ENDPOINT only when the config has no endpoint: the config wins", () => {
    const issues: string[] = [];
    const c = {
      obj: (v: unknown) =>
        typeof v === "object" && v !== null ? (v as Record<string, unknown>) : undefined,
      str: (o: Record<string, unknown>, k: string) =>
        typeof o[k] === "string" ? (o[k] as string) : undefined,
      strMap: () => ({}),
      int: (_o: unknown, _k: string, d: number) => d,
      add: (_p: unknown, m: string) => void issues.push(m),
    };
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://from-env:4318",
    } as NodeJS.ProcessEnv;
    const root = (otlp: object) => ({ telemetry: { otlp } });
    expect(otlpKeys(c, root({}), env)?.url).toBe("http://from-env:4318/v1/traces");
    expect(otlpKeys(c, root({ endpoint: "http://mine:4318" }), env)?.url).toBe(
      "http://mine:4318/v1/traces",
    );
    const traces = { ...env, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://t:4318/x" };
    expect(otlpKeys(c, root({}), traces)?.url).toBe("http://t:4318/x/v1/traces");
    expect(issues).toEqual([]);
    otlpKeys(c, root({}), {});
    expect(issues[0]).toMatch(/no endpoint.*OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});
