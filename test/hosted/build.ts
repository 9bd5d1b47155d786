/**
 * Components the hosted tests serve, built from source at test time into test/.build/hosted/,
 * cached by the hash of their sources and toolchain (a second run reuses them):
 * - examples/components/kitchen (JavaScript, componentize-js: every WIT value type);
 * - the WAT fixtures (wabt + jco componentEmbed/componentNew: milliseconds), each with its WIT
 *   source beside it as `warden serve` expects.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { componentEmbed, componentNew } from "@bytecodealliance/jco";
import wabtInit from "wabt";
import { ROOT } from "../guards/build.js";

export { ROOT };
export const BUILD = join(ROOT, "test", ".build", "hosted");
export const CACHE = join(BUILD, "cache");
const FIXTURES = join(ROOT, "test", "hosted", "fixtures");

function hashOf(files: string[], salt: string): string {
  const h = createHash("sha256").update(salt);
  for (const f of files) h.update(readFileSync(f));
  return h.digest("hex").slice(0, 16);
}

function version(pkg: string): string {
  return (
    JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;
}

/** The kitchen example (JavaScript) as a component, with kitchen.wit beside it. */
export function kitchenComponent(): string {
  const src = join(ROOT, "examples", "components", "kitchen");
  const files = ["kitchen.js", "kitchen.wit", "build.mjs"].map((f) => join(src, f));
  const key = hashOf(files, `componentize-js@${version("@bytecodealliance/componentize-js")}`);
  const dir = join(BUILD, `kitchen-${key}`);
  const out = join(dir, "kitchen.wasm");
  if (existsSync(out) && existsSync(join(dir, "kitchen.wit"))) return out;
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `tmp-${process.pid}.wasm`);
  execFileSync(process.execPath, [join(src, "build.mjs"), tmp], {
    cwd: ROOT,
    stdio: "pipe",
    timeout: 600_000,
  });
  copyFileSync(join(src, "kitchen.wit"), join(dir, "kitchen.wit"));
  renameSync(tmp, out);
  return out;
}

/**
 * A WAT fixture as a component of the world of the same name in `<name>.wit`, in its own
 * folder `test/.build/hosted/<name>-<hash>/` (or `into`), with the WIT beside it.
 */
export async function watComponent(name: string, into?: string): Promise<string> {
  const wat = join(FIXTURES, `${name}.wat`);
  const wit = join(FIXTURES, `${name}.wit`);
  const dir =
    into ?? join(BUILD, `${name}-${hashOf([wat, wit], version("@bytecodealliance/jco"))}`);
  const out = join(dir, `${name}.wasm`);
  if (existsSync(out) && existsSync(join(dir, `${name}.wit`))) return out;
  const wabt = await wabtInit();
  const mod = wabt.parseWat(`${name}.wat`, readFileSync(wat, "utf8"));
  let core: Uint8Array;
  try {
    mod.validate();
    core = new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
  const embedded = await componentEmbed({
    binary: core,
    witSource: readFileSync(wit, "utf8"),
    world: name,
  });
  const component = await componentNew(embedded);
  mkdirSync(dir, { recursive: true });
  copyFileSync(wit, join(dir, `${name}.wit`));
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, component);
  renameSync(tmp, out);
  return out;
}
