/**
 * The WAT components of test/hosted/wasi/fixtures built at test time (wabt + jco, milliseconds),
 * cached under test/.build/hosted by the hash of their sources, with the WIT beside each.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { componentEmbed, componentNew } from "@bytecodealliance/jco";
import wabtInit from "wabt";
import { BUILD } from "../build.js";

const FIXTURES = join(import.meta.dirname, "fixtures");

/** `<name>.wat` as a component of world `<name>` (in its own cached folder, WIT beside it). */
export async function wasiComponent(name: string): Promise<string> {
  const wat = readFileSync(join(FIXTURES, `${name}.wat`), "utf8");
  const wit = readFileSync(join(FIXTURES, `${name}.wit`), "utf8");
  const key = createHash("sha256").update(wat).update(wit).digest("hex").slice(0, 16);
  const dir = join(BUILD, `wasi-${name}-${key}`);
  const out = join(dir, `${name}.wasm`);
  if (existsSync(out)) return out;
  const wabt = await wabtInit();
  const mod = wabt.parseWat(`${name}.wat`, wat);
  let core: Uint8Array;
  try {
    mod.validate();
    core = new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
  const component = await componentNew(
    await componentEmbed({ binary: core, witSource: wit, world: name }),
  );
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.wit`), wit);
  writeFileSync(`${out}.${process.pid}.tmp`, component);
  renameSync(`${out}.${process.pid}.tmp`, out);
  return out;
}
