import { afterEach, describe, expect, it } from "vitest";
import {
  badAction,
  compilePolicy,
  type PermissionType,
  permissionTypes,
  registerPermissionType,
  S,
  unregisterPermissionType,
} from "../../src/policy/index.js";

/** A `graphql` permission type, registered from outside the engine. */
const graphql: PermissionType<{ allowed: Set<string> }> = {
  key: "graphql",
  description: "GraphQL operations by name",
  schema: S.obj({ operations: S.arr(S.str()) }),
  compile(value, ctx, path) {
    const ops = (value as { operations?: string[] }).operations ?? [];
    ops.forEach((op, i) => {
      if (!/^[A-Za-z_]\w*$/.test(op))
        ctx.error(
          [...path, "operations", i],
          "policy_bad_pattern",
          `"${op}" is not an operation name`,
        );
    });
    return { allowed: new Set(ops) };
  },
  match: {
    "graphql.query": (c, a) => {
      if (typeof a.operation !== "string")
        return badAction("graphql.query", '"operation" must be a string');
      return {
        allowed: c.allowed.has(a.operation),
        effect: c.allowed.has(a.operation) ? "allow" : "deny",
        code: c.allowed.has(a.operation) ? "allow_rule" : "no_rule",
        reason: c.allowed.has(a.operation) ? "operation listed" : "operation not listed",
      };
    },
  },
};

afterEach(() => {
  unregisterPermissionType("graphql");
});

describe("permission type registry", () => {
  it("registers a new type without touching the engine: schema, compiler, matcher", () => {
    compilePolicy(`version: "1.0"\n`); // built-ins are in
    registerPermissionType(graphql);
    const r = compilePolicy(`version: "1.0"\ngraphql:\n  operations: [GetUser]\n`);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.policy.check({ kind: "graphql.query", operation: "GetUser" }).allowed).toBe(true);
    expect(r.policy.check({ kind: "graphql.query", operation: "DeleteUser" }).allowed).toBe(false);
    expect(r.policy.check({ kind: "graphql.query" }).code).toBe("bad_action");
  });

  it("validates the new type's section with located errors", () => {
    registerPermissionType(graphql);
    const r = compilePolicy(`graphql:\n  operation: [x]\n`, { file: "g.yaml" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]).toMatchObject({ line: 2, code: "policy_unknown_key" });
    expect(r.errors[0]!.message).toContain('did you mean "operations"?');
    const r2 = compilePolicy(`graphql:\n  operations: ["not valid"]\n`, { file: "g.yaml" });
    expect(!r2.ok && r2.errors[0]).toMatchObject({ line: 2, code: "policy_bad_pattern" });
  });

  it("without the type, its key is unknown and its actions are bad", () => {
    const r = compilePolicy(`graphql: {}\n`);
    expect(!r.ok && r.errors[0]!.code).toBe("policy_unknown_key");
  });

  it("refuses clashing keys and kinds", () => {
    registerPermissionType(graphql);
    expect(() => registerPermissionType(graphql)).toThrow(/already registered/);
    expect(() =>
      registerPermissionType({
        ...graphql,
        key: "graphql2",
        match: { "tool.call": graphql.match["graphql.query"]! },
      }),
    ).toThrow(/already judged by "mcp"/);
    expect(() => registerPermissionType({ ...graphql, key: "version" })).toThrow(/reserved/);
  });

  it("builds mcp itself as a registered type", () => {
    compilePolicy(`version: "1.0"\n`);
    const mcp = permissionTypes().find((t) => t.key === "mcp");
    expect(mcp).toBeDefined();
    expect(Object.keys(mcp!.match)).toContain("tool.call");
  });
});
