/**
 * Wassette's per-component policy files, read as they are (microsoft/wassette's examples) and
 * mapped onto Warden's policy: grants work, rules are named at their line in the Wassette file,
 * unknown and unsupported keys are refused with located errors.
 */
import { describe, expect, it } from "vitest";
import { isWardenError } from "../../../src/core/errors.js";
import { compileHostPolicy } from "../../../src/hosted/wasi/policies.js";
import { fromWassette, isWassettePolicy } from "../../../src/hosted/wasi/wassette.js";
import type { PolicyError } from "../../../src/policy/types.js";
import { hostWith } from "./helpers.js";

// As in microsoft/wassette examples/get-weather-dotnet/policy.yaml and examples/filesystem-rs.
const WEATHER = `$schema: https://raw.githubusercontent.com/microsoft/policy-mcp/main/schema/policy-v1.0.schema.json
version: "1.0"
description: "Permission policy for the .NET OpenWeather example"
permissions:
  network:
    allow:
      - host: "api.openweathermap.org"
  environment:
    allow:
      - key: "OPENWEATHER_API_KEY"
  storage:
    allow:
      - uri: "fs:///srv/weather"
        access: ["read"]
`;

function errorsOf(source: string): PolicyError[] {
  try {
    compileHostPolicy({ source, file: "w.yaml", format: "auto" }, "component grants");
  } catch (e) {
    if (isWardenError(e)) return (e.details as { errors: PolicyError[] }).errors;
  }
  return [];
}

describe("Wassette policy files", () => {
  it('read version 1 however it is written ("1.0", 1, 1.0, "1")', () => {
    for (const v of ['"1.0"', "1", "1.0", '"1"'])
      expect(errorsOf(WEATHER.replace('version: "1.0"', `version: ${v}`)), v).toEqual([]);
  });

  it("are recognised by their shape", () => {
    expect(isWassettePolicy(WEATHER)).toBe(true);
    expect(isWassettePolicy('version: "1.0"\nnetwork:\n  allow: [{host: a.b}]\n')).toBe(false);
    expect(isWassettePolicy("permissions:\n  mcp:\n    tools:\n      allow: [x]\n")).toBe(false);
  });

  it("grant what they say, and rules are named at their line in the Wassette file", () => {
    const { policy, locations } = compileHostPolicy(
      { source: WEATHER, file: "weather-policy.yaml", format: "auto" },
      "component grants",
    );
    expect(
      policy.check({ kind: "http.request", url: "https://api.openweathermap.org/data" }).allowed,
    ).toBe(true);
    expect(policy.check({ kind: "http.request", url: "https://evil.example/" }).allowed).toBe(
      false,
    );
    expect(policy.check({ kind: "env.read", key: "OPENWEATHER_API_KEY" }).allowed).toBe(true);
    expect(policy.check({ kind: "env.read", key: "AWS_SECRET_ACCESS_KEY" }).allowed).toBe(false);
    // A storage uri without a glob is the directory tree, as Wassette preopens it.
    expect(
      policy.check({ kind: "storage.read", uri: "/srv/weather/cache/today.json" }).allowed,
    ).toBe(true);
    expect(policy.check({ kind: "storage.write", uri: "/srv/weather/x" }).allowed).toBe(false);
    expect(policy.check({ kind: "storage.read", uri: "/srv/weatherx" }).allowed).toBe(false);
    expect(locations?.get("network.allow[0]")).toBe("weather-policy.yaml:7");
    expect(locations?.get("storage.allow[0]")).toBe("weather-policy.yaml:13");
  });

  it("the host's events name the Wassette file's line", () => {
    const { host } = hostWith({
      component: "weather",
      grants: { source: WEATHER, file: "weather-policy.yaml" },
      environment: { OPENWEATHER_API_KEY: "k" },
    });
    const j = host.crossings.judge({ kind: "env.read", key: "OPENWEATHER_API_KEY" });
    expect(j.decision.allowed).toBe(true);
    expect(j.rule).toBe("weather-policy.yaml:10");
  });

  it("refuse unknown keys with their line and column", () => {
    const errs = errorsOf(
      'version: "1.0"\npermissions:\n  network:\n    allow:\n      - hots: "a.example"\n',
    );
    expect(errs[0]).toMatchObject({ file: "w.yaml", line: 5, col: 9, code: "policy_unknown_key" });
    expect(errs[0]!.message).toContain('unknown key "hots"');
    const top = errorsOf('version: "1.0"\npermissions:\n  netwrok:\n    allow: []\n');
    expect(top[0]).toMatchObject({
      line: 3,
      code: "policy_unknown_key",
      key: "permissions.netwrok",
    });
  });

  it("refuse what Warden would not enforce: defaults, runtime, ipc, resources.io", () => {
    const d = errorsOf(
      'version: "1.0"\npermissions:\n  network:\n    allow:\n      - defaults: true\n',
    );
    expect(d[0]).toMatchObject({ line: 5, code: "policy_bad_value" });
    expect(d[0]!.message).toContain("list the hosts");
    const r = errorsOf(
      'version: "1.0"\npermissions:\n  runtime:\n    docker:\n      security:\n        privileged: false\n',
    );
    expect(r[0]).toMatchObject({ line: 4, code: "policy_bad_value", key: "permissions.runtime" });
    const io = errorsOf('version: "1.0"\npermissions:\n  resources:\n    io: 100\n');
    expect(io[0]).toMatchObject({ line: 4, code: "policy_bad_value" });
  });

  it("a compile error of the mapped policy is located in the Wassette file", () => {
    const errs = errorsOf(
      'version: "1.0"\npermissions:\n  network:\n    allow:\n      - cidr: "10.0.0.1/8"\n',
    );
    expect(errs[0]).toMatchObject({
      line: 5,
      code: "policy_bad_pattern",
      key: "permissions.network.allow[0].cidr",
    });
  });

  it("maps resources cpu and memory onto resources.limits", () => {
    const r = fromWassette(
      'version: "1.0"\npermissions:\n  resources:\n    cpu: 0.5\n    memory: 268435456\n',
      "r.yaml",
    );
    expect(r.ok && JSON.parse(r.source).resources).toEqual({
      limits: { cpu: "0.5", memory: 268435456 },
    });
  });
});
