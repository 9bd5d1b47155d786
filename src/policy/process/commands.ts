/**
 * `commands`: what programs a traced process may run. Action `command.exec`:
 * `{ path, argv }` where `path` is the executable (absolute, as the process asked for it;
 * the check resolves `..`, and symlinks through `CheckOptions.realPath`) and `argv` its
 * arguments, `argv[0]` included.
 *
 * A rule is matched against the command line `name args...` (name: the real file name of the
 * executable; whitespace collapsed, so `python* -c *` matches a multi-line script), or, when
 * it starts with `/`, against `/real/path args...`. When no rule matches the whole line, the
 * name alone is tried (malwi's two passes: `deny: [curl]` catches `curl -s x`, while
 * `allow: ["curl https://ok.example/*"]` can carve an exception). A multi-call binary
 * (busybox) is judged by its file name and by the name in `argv[0]`, the stricter decision
 * winning; `argv[0]` alone never names the program (a process chooses it freely).
 */
import { rank } from "../../core/decision.js";
import { canonicalPathOf, pathRefusal } from "../canon/path.js";
import type { CheckContext } from "../context.js";
import { shippedRef } from "../json-schema.js";
import type { PermissionType } from "../registry.js";
import { badAction, notCanonical } from "../rule.js";
import type { PolicyDecision } from "../types.js";
import { compileModes, type ModeRule, type ModeSection, stricterDecision } from "./modes.js";

const KIND = "command.exec";
/** A program name: no separators, whitespace, controls or invisible characters. */
const BAD_NAME = /[\s/\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

function better(r: ModeRule, best: ModeRule | undefined): boolean {
  return (
    best === undefined ||
    r.pattern.specificity > best.pattern.specificity ||
    (r.pattern.specificity === best.pattern.specificity && rank(r.verdict) > rank(best.verdict))
  );
}

/** The best rule for one program name; `path` for rules that start with `/`. */
function judgeLine(
  c: ModeSection,
  name: string,
  path: string | undefined,
  args: string,
): PolicyDecision {
  const nameLine = args === "" ? name : `${name} ${args}`;
  const pathLine = path === undefined ? undefined : args === "" ? path : `${path} ${args}`;
  for (const pass of [0, 1]) {
    let best: ModeRule | undefined;
    for (const r of c.rules) {
      const subject = r.pattern.source.startsWith("/")
        ? pass === 0
          ? pathLine
          : path
        : pass === 0
          ? nameLine
          : name;
      if (subject !== undefined && r.pattern.test(subject) && better(r, best)) best = r;
    }
    if (best !== undefined) return best.decision;
    if (args === "") break;
  }
  return c.fallback;
}

function exec(
  c: ModeSection,
  a: Readonly<Record<string, unknown>>,
  ctx: CheckContext,
): PolicyDecision {
  const path = a.path;
  if (typeof path !== "string" || path === "")
    return badAction(KIND, `"path" must be the executable's path (or its name)`);
  const argv = a.argv ?? [];
  if (!Array.isArray(argv) || argv.some((x) => typeof x !== "string"))
    return badAction(KIND, `"argv" must be a list of strings`);
  let real: string | undefined;
  let name: string;
  if (path.includes("/")) {
    const p = canonicalPathOf(path, false);
    if (p === undefined) return notCanonical(KIND, pathRefusal);
    let r: string | { readonly refused: string } = p;
    if (ctx.realPath !== undefined) r = ctx.realPath(p, path);
    if (typeof r !== "string") return notCanonical(KIND, r.refused);
    real = r;
    name = r.slice(r.lastIndexOf("/") + 1);
  } else name = path;
  if (name === "" || BAD_NAME.test(name))
    return notCanonical(
      KIND,
      `the program name ${JSON.stringify(name)} has whitespace, separators or invisible characters`,
    );
  const args = (argv as string[]).slice(1).join(" ").trim().split(/\s+/).join(" ");
  if (ctx.explain) ctx.input = { kind: KIND, path: real ?? name, argv };
  let d = judgeLine(c, name, real, args);
  // A multi-call binary acts as the name in argv[0]: judge that name too.
  const a0 = (argv as string[])[0];
  if (a0 !== undefined && a0 !== "") {
    const n0 = a0.slice(a0.lastIndexOf("/") + 1);
    if (n0 !== name && n0 !== "" && !BAD_NAME.test(n0))
      d = stricterDecision(d, judgeLine(c, n0, undefined, args));
  }
  return d;
}

export const commandsType: PermissionType<ModeSection> = {
  key: "commands",
  description: "programs a traced process may run (command line patterns with modes)",
  schema: { $ref: shippedRef("policy", "#/definitions/commands") },
  compile: (value, ctx, path) =>
    compileModes(
      value as Record<string, unknown>,
      ctx,
      path,
      { label: "commands", fallback: "deny" },
      ctx.has(path),
    ),
  match: { [KIND]: exec },
};
