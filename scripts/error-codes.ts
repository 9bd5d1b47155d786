/**
 * Finds the error codes the source makes, by reading it (TypeScript's parser, no type checker),
 * so that test/core/error-codes.test.ts pins docs/errors.md against what the code throws, not
 * against a list kept by hand. A code is a snake_case string literal in one of these places:
 *
 * - the first argument of `new WardenError(...)`;
 * - the argument at a parameter named `code` of a function or method declared in src/ (and
 *   a `code = "..."` parameter default), and the value of a variable named `code`;
 * - the `code` property of an object literal that also has a `message` (an error, a config
 *   issue, a failure) or that is a `details` value, and the `warden` property of an object
 *   literal (a wire error's data);
 * - the elements of an array literal in a variable typed with a `...Code` type.
 *
 * Where an expression chooses (`a ? "x" : "y"`, `x ?? "y"`, `as`), every literal it can give
 * counts. Literals in codes.ts files are not read: they are the hand-kept summaries.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";

export interface CodeSite {
  readonly code: string;
  readonly file: string;
  readonly line: number;
}

const CODE_RE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") && e.name !== "codes.ts")
      out.push(p);
  }
  return out;
}

/** The string literals an expression can evaluate to (through ?:, ??, ||, parentheses, as). */
function literals(e: ts.Expression | undefined): ts.StringLiteralLike[] {
  if (e === undefined) return [];
  if (ts.isStringLiteralLike(e)) return [e];
  if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e))
    return literals(e.expression);
  if (ts.isConditionalExpression(e)) return [...literals(e.whenTrue), ...literals(e.whenFalse)];
  if (
    ts.isBinaryExpression(e) &&
    (e.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken ||
      e.operatorToken.kind === ts.SyntaxKind.BarBarToken)
  )
    return [...literals(e.left), ...literals(e.right)];
  return [];
}

function nameOf(n: ts.Node): string | undefined {
  const name = (n as { name?: ts.Node }).name;
  return name !== undefined && (ts.isIdentifier(name) || ts.isPrivateIdentifier(name))
    ? name.text
    : undefined;
}

function calleeName(e: ts.LeftHandSideExpression): string | undefined {
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  return undefined;
}

function propName(p: ts.ObjectLiteralElementLike): string | undefined {
  return p.name !== undefined && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))
    ? p.name.text
    : undefined;
}

/** Every code made in `root` (default src/), with where it is made. */
export function findErrorCodes(root = "src"): CodeSite[] {
  const files = sourceFiles(root).map((f) =>
    ts.createSourceFile(f, readFileSync(f, "utf8"), ts.ScriptTarget.Latest, true),
  );
  // Pass 1: functions and methods with a parameter named `code`, by name: its index.
  const codeParam = new Map<string, Set<number>>();
  const sites: CodeSite[] = [];
  const add = (sf: ts.SourceFile, lits: ts.StringLiteralLike[]) => {
    for (const l of lits) {
      if (!CODE_RE.test(l.text)) continue;
      const line = sf.getLineAndCharacterOfPosition(l.getStart(sf)).line + 1;
      sites.push({ code: l.text, file: sf.fileName, line });
    }
  };
  for (const sf of files) {
    const visit = (n: ts.Node): void => {
      if (ts.isFunctionLike(n)) {
        n.parameters.forEach((p, i) => {
          if (!ts.isIdentifier(p.name) || p.name.text !== "code") return;
          add(sf, literals(p.initializer));
          const name = nameOf(n);
          if (name === undefined || name === "constructor") return;
          let set = codeParam.get(name);
          if (set === undefined) codeParam.set(name, (set = new Set()));
          set.add(i);
        });
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  // Pass 2: the sites.
  for (const sf of files) {
    const visit = (n: ts.Node): void => {
      if (ts.isNewExpression(n) && ts.isIdentifier(n.expression)) {
        if (n.expression.text === "WardenError") add(sf, literals(n.arguments?.[0]));
      } else if (ts.isCallExpression(n)) {
        const name = calleeName(n.expression);
        const at = name === undefined ? undefined : codeParam.get(name);
        if (at !== undefined) for (const i of at) add(sf, literals(n.arguments[i]));
      } else if (ts.isObjectLiteralExpression(n)) {
        const props = new Map(n.properties.map((p) => [propName(p), p]));
        const code = props.get("code");
        const inDetails = ts.isPropertyAssignment(n.parent) && propName(n.parent) === "details";
        if (
          code !== undefined &&
          (props.has("message") || inDetails) &&
          ts.isPropertyAssignment(code)
        )
          add(sf, literals(code.initializer));
        const wire = props.get("warden");
        if (wire !== undefined && ts.isPropertyAssignment(wire))
          add(sf, literals(wire.initializer));
      } else if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.name.text === "code") {
        add(sf, literals(n.initializer));
      } else if (
        ts.isVariableDeclaration(n) &&
        n.type !== undefined &&
        /\b[A-Z]\w*Code\b/.test(n.type.getText(sf)) &&
        n.initializer !== undefined
      ) {
        const walk = (m: ts.Node): void => {
          if (ts.isArrayLiteralExpression(m))
            for (const el of m.elements) if (ts.isExpression(el)) add(sf, literals(el));
          ts.forEachChild(m, walk);
        };
        walk(n.initializer);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return sites;
}
