/**
 * Read the WIT text of a component (wasm-tools' `componentWit` output) into its exported
 * functions with fully resolved value types. Type names are resolved through each interface's
 * own definitions and its `use` clauses (across packages). Only what Warden needs is kept.
 */
import { lex, type Token, WitSyntaxError } from "./lexer.js";
import type { PrimName, WitCase, WitField, WitFunction, WitNamed, WitType } from "./types.js";

export { WitSyntaxError };

const PRIMS = new Set<string>([
  "bool",
  "u8",
  "u16",
  "u32",
  "u64",
  "s8",
  "s16",
  "s32",
  "s64",
  "f32",
  "f64",
  "float32",
  "float64",
  "char",
  "string",
]);

type Expr =
  | { k: "prim"; name: PrimName }
  | { k: "ref"; name: string }
  | { k: "list"; of: Expr; length?: number }
  | { k: "option"; of: Expr }
  | { k: "result"; ok?: Expr; err?: Expr }
  | { k: "tuple"; of: Expr[] }
  | { k: "handle"; how: "own" | "borrow"; name: string }
  | { k: "unsupported"; name: string };

type Def =
  | { k: "alias"; of: Expr }
  | { k: "record"; fields: { name: string; docs?: string; type: Expr }[] }
  | { k: "variant"; cases: { name: string; docs?: string; type?: Expr }[] }
  | { k: "enum"; cases: WitNamed[] }
  | { k: "flags"; flags: WitNamed[] }
  | { k: "resource" };

interface RawFunc {
  name: string;
  docs?: string;
  params: { name: string; type: Expr }[];
  result?: Expr;
  async: boolean;
}

/** A scope: an interface or a world. `uses` maps a local name to [interface path, name]. */
interface Scope {
  /** Full path `ns:pkg/name` (unversioned) for interfaces; `world:<name>` for worlds. */
  path: string;
  pkg: string;
  docs?: string;
  defs: Map<string, Def>;
  uses: Map<string, [string, string]>;
  funcs: RawFunc[];
}

interface WorldExport {
  /** The interface path the component exports, or a function. */
  iface?: string;
  /** The name as the component names it (with @version), for interfaces. */
  displayName?: string;
  func?: RawFunc;
}

export interface WitDocument {
  readonly exports: readonly WitFunction[];
  /** Imports named by the world, as the component names them (interfaces and functions). */
  readonly imports: readonly string[];
  /** The worlds the WIT sources define (name, package, exported interface paths). */
  readonly worlds: readonly { name: string; pkg: string; exports: readonly string[] }[];
}

class Parser {
  i = 0;
  docs: string[] = [];
  readonly scopes = new Map<string, Scope>();
  worlds: { name: string; pkg: string; exports: WorldExport[]; imports: string[]; scope: Scope }[] =
    [];
  anon = 0;

  toks: Token[] = [];

  /** Parse one WIT text (a file, or the component's root world) into the shared scopes. */
  parseText(text: string, where: string): void {
    this.toks = lex(text);
    this.i = 0;
    this.docs = [];
    try {
      this.parseFile();
    } catch (error) {
      if (error instanceof WitSyntaxError) throw new WitSyntaxError(`${where}: ${error.message}`);
      throw error;
    }
  }

  peek(o = 0): Token {
    return this.toks[Math.min(this.i + o, this.toks.length - 1)]!;
  }
  next(): Token {
    const t = this.toks[this.i]!;
    if (t.t !== "eof") this.i++;
    return t;
  }
  fail(msg: string, t = this.peek()): never {
    throw new WitSyntaxError(`line ${t.line}: ${msg} (at ${JSON.stringify(t.v || t.t)})`);
  }
  is(v: string, o = 0): boolean {
    const t = this.peek(o);
    return (t.t === "punct" || t.t === "id") && t.v === v;
  }
  eat(v: string): boolean {
    if (this.is(v)) {
      this.i++;
      return true;
    }
    return false;
  }
  expect(v: string): void {
    if (!this.eat(v)) this.fail(`expected "${v}"`);
  }
  id(): string {
    const t = this.peek();
    if (t.t !== "id") this.fail("expected an identifier");
    this.i++;
    return t.v;
  }
  /** Doc comments collected before the next item (consumed). */
  takeDocs(): string | undefined {
    const d = this.docs;
    this.docs = [];
    return d.length > 0 ? d.join("\n").trim() || undefined : undefined;
  }
  /** Skip doc tokens into `docs` and `@since(...)`/`@unstable(...)`/`@deprecated(...)` gates. */
  skipTrivia(): void {
    for (;;) {
      const t = this.peek();
      if (t.t === "doc") {
        this.docs.push(t.v);
        this.i++;
        continue;
      }
      if (t.t === "punct" && t.v === "@" && this.peek(1).t === "id" && this.is("(", 2)) {
        this.i += 2;
        let depth = 0;
        do {
          const u = this.next();
          if (u.t === "eof") this.fail("unterminated attribute");
          if (u.v === "(") depth++;
          else if (u.v === ")") depth--;
        } while (depth > 0);
        continue;
      }
      return;
    }
  }
  version(): string {
    // After "@": a semver token.
    const t = this.next();
    if (t.t !== "num") this.fail("expected a version", t);
    return t.v;
  }
  /** `ns:pkg/name@ver` or a bare `name`; returns [path-as-written, unversioned path or bare]. */
  usePath(pkg: string): { written: string; path: string } {
    const first = this.id();
    if (this.eat(":")) {
      const pname = this.id();
      this.expect("/");
      const iname = this.id();
      let written = `${first}:${pname}/${iname}`;
      if (this.eat("@")) written += `@${this.version()}`;
      return { written, path: `${first}:${pname}/${iname}` };
    }
    return { written: first, path: `${pkg}/${first}` };
  }

  parseFile(): void {
    let pkg = "root:component";
    for (;;) {
      this.skipTrivia();
      const t = this.peek();
      if (t.t === "eof") return;
      if (this.eat("package")) {
        const ns = this.id();
        this.expect(":");
        const name = this.id();
        if (this.eat("@")) this.version();
        const p = `${ns}:${name}`;
        this.docs = [];
        if (this.eat(";")) {
          pkg = p;
          continue;
        }
        this.expect("{");
        for (;;) {
          this.skipTrivia();
          if (this.eat("}")) break;
          this.topItem(p);
        }
        continue;
      }
      this.topItem(pkg);
    }
  }

  topItem(pkg: string): void {
    if (this.eat("interface")) {
      const name = this.id();
      this.interfaceBody(`${pkg}/${name}`, pkg, this.takeDocs());
      return;
    }
    if (this.eat("world")) {
      this.world(pkg);
      return;
    }
    if (this.eat("use")) {
      // top-level `use a:b/c as d;`
      while (!this.eat(";")) if (this.next().t === "eof") this.fail("unterminated use");
      return;
    }
    this.fail("expected interface, world or package");
  }

  newScope(path: string, pkg: string, docs: string | undefined): Scope {
    const s: Scope = { path, pkg, defs: new Map(), uses: new Map(), funcs: [] };
    if (docs !== undefined) s.docs = docs;
    this.scopes.set(path, s);
    return s;
  }

  interfaceBody(path: string, pkg: string, docs: string | undefined): Scope {
    const s = this.newScope(path, pkg, docs);
    this.expect("{");
    for (;;) {
      this.skipTrivia();
      if (this.eat("}")) return s;
      this.scopeItem(s);
    }
  }

  /** use, type definitions, functions: what interfaces and worlds share. */
  scopeItem(s: Scope): boolean {
    if (this.eat("use")) {
      const { path } = this.usePath(s.pkg);
      this.expect(".");
      this.expect("{");
      do {
        const name = this.id();
        const local = this.eat("as") ? this.id() : name;
        s.uses.set(local, [path, name]);
      } while (this.eat(","));
      this.expect("}");
      this.expect(";");
      this.docs = [];
      return true;
    }
    const docs = this.takeDocs();
    const kw = this.peek();
    if (kw.t === "id" && this.peek(1).t === "id") {
      switch (kw.v) {
        case "type": {
          this.i++;
          const name = this.id();
          this.expect("=");
          s.defs.set(name, { k: "alias", of: this.type() });
          this.expect(";");
          return true;
        }
        case "record": {
          this.i++;
          const name = this.id();
          const fields = this.list("{", "}", () => {
            const d = this.takeDocs();
            const n = this.id();
            this.expect(":");
            return { name: n, type: this.type(), ...(d === undefined ? {} : { docs: d }) };
          });
          s.defs.set(name, { k: "record", fields });
          return true;
        }
        case "variant": {
          this.i++;
          const name = this.id();
          const cases = this.list("{", "}", () => {
            const d = this.takeDocs();
            const n = this.id();
            let type: Expr | undefined;
            if (this.eat("(")) {
              type = this.type();
              this.expect(")");
            }
            return {
              name: n,
              ...(type === undefined ? {} : { type }),
              ...(d === undefined ? {} : { docs: d }),
            };
          });
          s.defs.set(name, { k: "variant", cases });
          return true;
        }
        case "enum":
        case "flags": {
          this.i++;
          const name = this.id();
          const items = this.list("{", "}", () => {
            const d = this.takeDocs();
            const n = this.id();
            return { name: n, ...(d === undefined ? {} : { docs: d }) };
          });
          s.defs.set(
            name,
            kw.v === "enum" ? { k: "enum", cases: items } : { k: "flags", flags: items },
          );
          return true;
        }
        case "resource": {
          this.i++;
          const name = this.id();
          s.defs.set(name, { k: "resource" });
          if (this.eat(";")) return true;
          this.skipBlock();
          return true;
        }
      }
    }
    if (kw.t === "id" && this.is(":", 1)) {
      const name = this.id();
      this.expect(":");
      if (this.is("func") || this.is("async")) {
        const f = this.func(name, docs);
        this.expect(";");
        s.funcs.push(f);
        return true;
      }
      this.i -= 2;
    }
    return false;
  }

  skipBlock(): void {
    this.expect("{");
    let depth = 1;
    while (depth > 0) {
      const t = this.next();
      if (t.t === "eof") this.fail("unterminated block");
      if (t.t === "punct" && t.v === "{") depth++;
      else if (t.t === "punct" && t.v === "}") depth--;
    }
  }

  list<T>(open: string, close: string, item: () => T): T[] {
    this.expect(open);
    const out: T[] = [];
    for (;;) {
      this.skipTrivia();
      if (this.eat(close)) return out;
      out.push(item());
      this.skipTrivia();
      if (!this.eat(",")) {
        this.skipTrivia();
        this.expect(close);
        return out;
      }
    }
  }

  func(name: string, docs: string | undefined): RawFunc {
    const async = this.eat("async");
    this.expect("func");
    const params = this.list("(", ")", () => {
      const n = this.id();
      this.expect(":");
      return { name: n, type: this.type() };
    });
    let result: Expr | undefined;
    if (this.eat("->")) {
      if (this.is("(")) {
        // Old named results: `-> (a: T, b: U)`: not supported as a tool result.
        this.skipParens();
        result = { k: "unsupported", name: "named results" };
      } else result = this.type();
    }
    return {
      name,
      params,
      async,
      ...(result === undefined ? {} : { result }),
      ...(docs === undefined ? {} : { docs }),
    };
  }

  skipParens(): void {
    this.expect("(");
    let depth = 1;
    while (depth > 0) {
      const t = this.next();
      if (t.t === "eof") this.fail("unterminated parenthesis");
      if (t.v === "(") depth++;
      else if (t.v === ")") depth--;
    }
  }

  type(): Expr {
    const t = this.peek();
    if (t.t === "punct" && t.v === "_") {
      this.i++;
      return { k: "tuple", of: [] }; // only valid inside result<_, E>: handled there
    }
    const name = this.id();
    if (PRIMS.has(name)) {
      const n = name === "float32" ? "f32" : name === "float64" ? "f64" : name;
      return { k: "prim", name: n as PrimName };
    }
    switch (name) {
      case "list": {
        this.expect("<");
        const of = this.type();
        let length: number | undefined;
        if (this.eat(",")) length = Number(this.next().v);
        this.expect(">");
        return length === undefined ? { k: "list", of } : { k: "list", of, length };
      }
      case "option": {
        this.expect("<");
        const of = this.type();
        this.expect(">");
        return { k: "option", of };
      }
      case "result": {
        if (!this.eat("<")) return { k: "result" };
        let ok: Expr | undefined;
        if (!this.eat("_")) ok = this.type();
        let err: Expr | undefined;
        if (this.eat(",")) err = this.type();
        this.expect(">");
        return { k: "result", ...(ok ? { ok } : {}), ...(err ? { err } : {}) };
      }
      case "tuple": {
        this.expect("<");
        const of: Expr[] = [];
        do of.push(this.type());
        while (this.eat(","));
        this.expect(">");
        return { k: "tuple", of };
      }
      case "own":
      case "borrow": {
        this.expect("<");
        const r = this.id();
        this.expect(">");
        return { k: "handle", how: name, name: r };
      }
      case "future":
      case "stream": {
        if (this.eat("<")) {
          this.type();
          this.expect(">");
        }
        return { k: "unsupported", name };
      }
      case "error-context":
        return { k: "unsupported", name };
      default:
        return { k: "ref", name };
    }
  }

  world(pkg: string): void {
    const name = this.id();
    const docs = this.takeDocs();
    const scope = this.newScope(`world:${pkg}/${name}`, pkg, docs);
    const w = { name, pkg, exports: [] as WorldExport[], imports: [] as string[], scope };
    this.worlds.push(w);
    this.expect("{");
    for (;;) {
      this.skipTrivia();
      if (this.eat("}")) return;
      if (this.is("import") || this.is("export")) {
        const dir = this.next().v;
        const docs = this.takeDocs();
        // `name: func(...)`, `name: interface { ... }` or a path.
        if (this.peek().t === "id" && this.is(":", 1) && !this.isPathAhead()) {
          const n = this.id();
          this.expect(":");
          if (this.eat("interface")) {
            const path = `${pkg}/${name}#${n}`;
            this.interfaceBody(path, pkg, docs);
            if (dir === "export") w.exports.push({ iface: path, displayName: n });
            else w.imports.push(n);
            continue;
          }
          const f = this.func(n, docs);
          this.expect(";");
          if (dir === "export") w.exports.push({ func: f });
          else w.imports.push(n);
          continue;
        }
        const { written, path } = this.usePath(pkg);
        this.expect(";");
        if (dir === "export") w.exports.push({ iface: path, displayName: written });
        else w.imports.push(written);
        continue;
      }
      if (this.eat("include")) {
        while (!this.eat(";")) if (this.next().t === "eof") this.fail("unterminated include");
        continue;
      }
      if (!this.scopeItem(scope)) this.fail("unexpected item in world");
    }
  }

  /** After `import`/`export`: is the next thing a `ns:pkg/iface` path (id ":" id "/")? */
  isPathAhead(): boolean {
    return this.peek(2).t === "id" && this.is("/", 3);
  }
}

/** Resolve names to types, following aliases and `use` clauses; cycles are refused. */
class Resolver {
  constructor(readonly scopes: Map<string, Scope>) {}

  lookup(scope: Scope, name: string, depth = 0): { def: Def; scope: Scope; name: string } {
    if (depth > 64) throw new WitSyntaxError(`type ${name}: too many aliases`);
    const d = scope.defs.get(name);
    if (d !== undefined) return { def: d, scope, name };
    const u = scope.uses.get(name);
    if (u !== undefined) {
      const target = this.scopes.get(u[0]);
      if (target === undefined)
        throw new WitSyntaxError(`type ${name}: interface ${u[0]} is not in the component's WIT`);
      return this.lookup(target, u[1], depth + 1);
    }
    throw new WitSyntaxError(`type ${name} is not defined in ${scope.path}`);
  }

  type(e: Expr, scope: Scope, depth = 0): WitType {
    if (depth > 64) throw new WitSyntaxError("types nested too deeply");
    switch (e.k) {
      case "prim":
        return { kind: "prim", name: e.name };
      case "list":
        return {
          kind: "list",
          of: this.type(e.of, scope, depth + 1),
          ...(e.length === undefined ? {} : { length: e.length }),
        };
      case "option":
        return { kind: "option", of: this.type(e.of, scope, depth + 1) };
      case "result":
        return {
          kind: "result",
          ...(e.ok ? { ok: this.type(e.ok, scope, depth + 1) } : {}),
          ...(e.err ? { err: this.type(e.err, scope, depth + 1) } : {}),
        };
      case "tuple":
        return { kind: "tuple", of: e.of.map((x) => this.type(x, scope, depth + 1)) };
      case "handle":
        return { kind: "handle", name: e.name, how: e.how };
      case "unsupported":
        return { kind: "unsupported", name: e.name };
      case "ref": {
        const { def, scope: at, name } = this.lookup(scope, e.name);
        switch (def.k) {
          case "alias":
            return this.type(def.of, at, depth + 1);
          case "resource":
            return { kind: "handle", name, how: "own" };
          case "enum":
            return { kind: "enum", name, cases: def.cases };
          case "flags":
            return { kind: "flags", name, flags: def.flags };
          case "record":
            return {
              kind: "record",
              name,
              fields: def.fields.map(
                (f): WitField => ({
                  name: f.name,
                  type: this.type(f.type, at, depth + 1),
                  ...(f.docs === undefined ? {} : { docs: f.docs }),
                }),
              ),
            };
          case "variant":
            return {
              kind: "variant",
              name,
              cases: def.cases.map(
                (c): WitCase => ({
                  name: c.name,
                  ...(c.type === undefined ? {} : { type: this.type(c.type, at, depth + 1) }),
                  ...(c.docs === undefined ? {} : { docs: c.docs }),
                }),
              ),
            };
        }
      }
    }
  }
}

export interface WitSourceFile {
  readonly file: string;
  readonly text: string;
}

/**
 * The exported functions of a component, with their types resolved: `rootText` is the WIT
 * wasm-tools prints for the component (`componentWit`: its root world, which names the exports
 * with their versions and types world-level functions fully); the interfaces it exports are
 * defined by `sources` (the component's WIT files, which also carry the doc comments).
 */
export function readComponentWit(
  rootText: string,
  sources: readonly WitSourceFile[] = [],
): WitDocument {
  const p = new Parser();
  p.parseText(rootText, "the component's world");
  const world = p.worlds[0];
  if (world === undefined) throw new WitSyntaxError("the component's WIT has no world");
  for (const s of sources) p.parseText(s.text, s.file);
  const r = new Resolver(p.scopes);
  const out: WitFunction[] = [];
  for (const ex of world.exports) {
    if (ex.func !== undefined) {
      out.push(fn(r, ex.func, world.scope, null, null, undefined));
      continue;
    }
    const scope = p.scopes.get(ex.iface!);
    if (scope === undefined) throw new MissingInterface(ex.displayName ?? ex.iface!);
    const short = ex.iface!.includes("#")
      ? ex.iface!.slice(ex.iface!.indexOf("#") + 1)
      : ex.iface!.slice(ex.iface!.lastIndexOf("/") + 1);
    for (const f of scope.funcs)
      out.push(fn(r, f, scope, ex.displayName ?? short, short, scope.docs));
  }
  return {
    exports: out,
    imports: world.imports,
    worlds: p.worlds
      .slice(1)
      .map((w) => ({ name: w.name, pkg: w.pkg, exports: w.exports.map((e) => e.iface ?? "") })),
  };
}

/** An exported interface the WIT sources do not define. */
export class MissingInterface extends Error {
  constructor(readonly iface: string) {
    super(`the WIT sources do not define the exported interface ${iface}`);
  }
}

function fn(
  r: Resolver,
  f: RawFunc,
  scope: Scope,
  iface: string | null,
  short: string | null,
  ifaceDocs: string | undefined,
): WitFunction {
  return {
    interface: iface,
    interfaceShort: short,
    name: f.name,
    async: f.async,
    params: f.params.map((x) => ({ name: x.name, type: r.type(x.type, scope) })),
    ...(f.result === undefined ? {} : { result: r.type(f.result, scope) }),
    ...(f.docs === undefined ? {} : { docs: f.docs }),
    ...(ifaceDocs === undefined ? {} : { interfaceDocs: ifaceDocs }),
  };
}
