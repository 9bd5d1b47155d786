// An attacker reading a denied file through `node:wasi` (real `warden run`, real node, a real
// wasm module built from WAT with wabt, no strace: the agent alone must hold). `new WASI({
// preopens: { "/x": "/" } })` hands the module the whole file system: its `path_open` and
// `fd_read` go through WASI's own native file system, which no fs hook sees, and the module
// printed the secret. Now each preopen is judged where it is granted, as a read and a write of
// its whole tree, and refused (EACCES, recorded as a block) unless the policy allows all of it:
// whether the program loads node:wasi with require, an ESM import, process.getBuiltinModule, or
// reaches the class through an instance's constructor; a preopen of an allowed folder still works.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import wabtInit from "wabt";
import { denyPolicy, files, runWarden, tempDir } from "./helpers.js";
import { eventsOf } from "./python-helpers.js";

/** A WASI command that opens `path` under its first preopen (fd 3) and prints what it reads. */
async function reader(path: string): Promise<Uint8Array> {
  const wat = `(module
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) ${JSON.stringify(path)})
  (data (i32.const 3000) "OPENFAIL\\n")
  (func (export "_start")
    (if (i32.ne (call $path_open (i32.const 3) (i32.const 1) (i32.const 1024) (i32.const ${Buffer.byteLength(path)})
          (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 20)) (i32.const 0))
      (then
        (i32.store (i32.const 32) (i32.const 3000))
        (i32.store (i32.const 36) (i32.const 9))
        (drop (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 40)))
        (return)))
    (i32.store (i32.const 0) (i32.const 2048))
    (i32.store (i32.const 4) (i32.const 100))
    (drop (call $fd_read (i32.load (i32.const 20)) (i32.const 0) (i32.const 1) (i32.const 16)))
    (i32.store (i32.const 32) (i32.const 2048))
    (i32.store (i32.const 36) (i32.load (i32.const 16)))
    (drop (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 40)))))`;
  const wabt = await wabtInit();
  const m = wabt.parseWat("reader.wat", wat);
  try {
    m.resolveNames();
    m.validate();
    return new Uint8Array(m.toBinary({}).buffer);
  } finally {
    m.destroy();
  }
}

/** Runs `wasm` with `preopen` as /x; prints the wasm's output or `<name> refused <code>`. */
const RUN = `
const fs = require("fs");
module.exports = (name, WASI, preopen, wasm) => {
  try {
    const wasi = new WASI({ version: "preview1", preopens: { "/x": preopen }, returnOnExit: true });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(wasm)), wasi.getImportObject());
    process.stdout.write(name + " ran: ");
    wasi.start(inst);
  } catch (e) {
    console.log(name, "refused", e.code);
  }
};
`;

const CJS = `
const run = require("./run.js");
const [root, pub] = process.argv.slice(2);
const { WASI } = require("node:wasi");
run("require", WASI, "/", "secret.wasm");
run("require-relative", WASI, ".", "secret-rel.wasm");
run("getBuiltinModule", process.getBuiltinModule ? process.getBuiltinModule("wasi").WASI : WASI, "/", "secret.wasm");
// Node's class through what the program can reach from the wrapper and its instances.
const ok = new WASI({ version: "preview1", preopens: { "/x": pub } });
run("constructor", ok.constructor, "/", "secret.wasm");
run("proto", Object.getPrototypeOf(WASI) === Function.prototype ? WASI : Object.getPrototypeOf(WASI), "/", "secret.wasm");
class Mine extends WASI {}
run("subclass", Mine, "/", "secret.wasm");
// A host folder whose toString names an allowed folder first, then "/".
let n = 0;
run("tostring", WASI, { toString: () => (n++ === 0 ? pub : "/") }, "secret.wasm");
run("allowed", WASI, pub, "public.wasm");
`;

const ESM = `
import { WASI } from "node:wasi";
import wasi from "node:wasi";
import { createRequire } from "node:module";
const run = createRequire(import.meta.url)("./run.js");
run("esm", WASI, "/", "secret.wasm");
run("esm-default", wasi.WASI, "/", "secret.wasm");
const dyn = await import("node:wasi");
run("esm-dynamic", dyn.WASI, "/", "secret.wasm");
`;

describe("warden run: a wasm module reading through node:wasi", () => {
  it("judges every preopen as its whole tree, however the program reaches WASI", async () => {
    const root = tempDir("warden-hostile-wasi-");
    const secret = join(root, "secret", "id_rsa");
    const pub = join(root, "pub");
    mkdirSync(join(root, "secret"));
    mkdirSync(pub);
    writeFileSync(secret, "TOPSECRET\n");
    writeFileSync(join(pub, "notes.txt"), "PUBLIC\n");
    writeFileSync(join(root, "secret.wasm"), await reader(secret.slice(1)));
    writeFileSync(join(root, "secret-rel.wasm"), await reader("secret/id_rsa"));
    writeFileSync(join(root, "public.wasm"), await reader("notes.txt"));
    files(root, {
      "run.js": RUN,
      "app.js": CJS,
      "app.mjs": ESM,
      "policy.yaml": denyPolicy([join(root, "secret/**")]),
    });
    const run = (app: string) =>
      runWarden(
        [
          "run",
          "--json",
          "--no-strace",
          "--policy",
          "policy.yaml",
          "--",
          process.execPath,
          "--no-warnings",
          app,
          root,
          pub,
        ],
        { cwd: root },
      );
    const cjs = await run("app.js");
    const esm = await run("app.mjs");
    for (const r of [cjs, esm]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toContain("TOPSECRET");
      expect(r.stderr).not.toContain("TOPSECRET");
    }
    // Under --json the program's own output goes to stderr.
    const said = (r: typeof cjs) => r.stderr;
    for (const name of [
      "require",
      "require-relative",
      "getBuiltinModule",
      "constructor",
      "proto",
      "subclass",
    ])
      expect(said(cjs)).toMatch(new RegExp(`^${name} refused EACCES$`, "m"));
    // Node was given the folder judged (the value read once), where the secret is not.
    expect(said(cjs)).toMatch(/^tostring ran: OPENFAIL$/m);
    expect(said(cjs)).toMatch(/^allowed ran: PUBLIC$/m);
    for (const name of ["esm", "esm-default", "esm-dynamic"])
      expect(said(esm)).toMatch(new RegExp(`^${name} refused EACCES$`, "m"));
    const blocks = [cjs, esm].flatMap((r) =>
      eventsOf(r.stdout).events.filter((e) => e.verdict === "block"),
    );
    expect(blocks.every((e) => e.function === "js:wasi.WASI")).toBe(true);
    expect(blocks.filter((e) => e.target === "/")).toHaveLength(8);
    expect(blocks.filter((e) => e.target === root)).toHaveLength(1);
  }, 120_000);
});
