// The Node agent's shortcuts on its most frequent calls (src/trace/agent/hooks-fs.ts): statSync
// and lstatSync use the program's own result as the identity check of a path judged before, and
// readFileSync is judged once (Node's inner openSync let through for exactly that path and flag).
// Each is attacked here under a real `warden run`: links swapped by a worker thread and by
// another process between calls, a getter in the options that swaps a link in the middle of the
// call, an openSync replaced by the program, bigint and throwIfNoEntry, lstat on links, paths
// given as URL-like objects and Uint8Arrays, and denied paths that exist or not (same error).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { files, runApp, SWAP_BEHIND_READER, tempDir, WAIT_FOR_FILE } from "./helpers.js";

function policy(dir: string): string {
  return `version: "1.0"
storage:
  deny:
    - { uri: ${JSON.stringify(`${dir}/secret/**`)}, access: [read, write] }
    - { uri: ${JSON.stringify(`${dir}/ro/**`)}, access: [write] }
  allow:
    - { uri: "/**", access: [read, write] }
`;
}

/** A worker thread that re-points a link when asked, while the main thread waits (no hooked call in it). */
const SWAPPER = `
const fs = require("fs"), { Worker } = require("worker_threads");
const shared = new Int32Array(new SharedArrayBuffer(4));
const worker = new Worker(\`
  const cp = require("child_process"), { parentPort, workerData } = require("worker_threads");
  parentPort.on("message", ([link, target]) => {
    cp.execFileSync("ln", ["-sfn", target, link]);
    Atomics.store(workerData, 0, 1);
    Atomics.notify(workerData, 0);
  });
\`, { eval: true, workerData: shared });
worker.unref();
/** Point link at target from the other thread; back when it is done. */
function swap(link, target) {
  Atomics.store(shared, 0, 0);
  worker.postMessage([link, target]);
  Atomics.wait(shared, 0, 0, 30000);
}
const tryIt = (f) => { try { const r = f(); return r === undefined ? "undefined" : r; } catch (e) { return e.code + (/Warden/.test(e.message) ? " Warden" : ""); } };
const kind = (st) => st === undefined ? "undefined" : typeof st.ino === "bigint" ? "bigint" : st.isSymbolicLink() ? "link" : st.isFile() ? "file" : "other";
`;

function setup(): string {
  const dir = tempDir();
  for (const d of ["good", "secret", "ro"]) mkdirSync(join(dir, d));
  writeFileSync(join(dir, "good/f.txt"), "good");
  writeFileSync(join(dir, "secret/f.txt"), "s3cret");
  writeFileSync(join(dir, "ro/f.txt"), "read-only");
  files(dir, { "policy.yaml": policy(dir) });
  return dir;
}

async function run(dir: string, app: string): Promise<Record<string, unknown>> {
  writeFileSync(join(dir, "app.js"), SWAPPER + app);
  const r = await runApp(dir, { json: false, strace: false });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(/OUT (.*)/.exec(r.stdout)![1]!) as Record<string, unknown>;
}

describe("warden run agent: the fs shortcuts keep every judgement", () => {
  it("statSync and lstatSync of a link judged before, swapped by a worker thread, in every option form", async () => {
    const dir = setup();
    const out = await run(
      dir,
      `
fs.symlinkSync("good", "w");
const forms = {
  plain: (p) => kind(fs.statSync(p)),
  noThrow: (p) => kind(fs.statSync(p, { throwIfNoEntry: false })),
  bigint: (p) => kind(fs.statSync(p, { bigint: true })),
  lstat: (p) => kind(fs.lstatSync(p)),
  lstatNoThrow: (p) => kind(fs.lstatSync(p, { throwIfNoEntry: false })),
  read: (p) => fs.readFileSync(p, "latin1"),
  readBuffer: (p) => fs.readFileSync(p).toString(),
};
const out = {};
for (const [name, f] of Object.entries(forms)) {
  swap("w", "good");
  const a = [tryIt(() => f("w/f.txt")), tryIt(() => f("w/f.txt"))];
  swap("w", "secret");
  a.push(tryIt(() => f("w/f.txt")), tryIt(() => f("w/f.txt")));
  swap("w", "good");
  a.push(tryIt(() => f("w/f.txt")));
  out[name] = a;
}
console.log("OUT " + JSON.stringify(out));
`,
    );
    const w = "EACCES Warden";
    expect(out).toEqual({
      plain: ["file", "file", w, w, "file"],
      noThrow: ["file", "file", w, w, "file"],
      bigint: ["bigint", "bigint", w, w, "bigint"],
      lstat: ["file", "file", w, w, "file"],
      lstatNoThrow: ["file", "file", w, w, "file"],
      read: ["good", "good", w, w, "good"],
      readBuffer: ["good", "good", w, w, "good"],
    });
  }, 120_000);

  it("fs.stat and fs.lstat (callbacks) of a link judged before, swapped by a worker thread, in every option form and by a getter", async () => {
    const dir = setup();
    const out = await run(
      dir,
      `
fs.symlinkSync("good", "a");
const cb = (f) => new Promise((res) => f((e, st) => res(e ? e.code + (/Warden/.test(e.message) ? " Warden" : "") : kind(st))));
const forms = {
  stat: (p) => cb((k) => fs.stat(p, k)),
  statOpts: (p) => cb((k) => fs.stat(p, {}, k)),
  statUndefined: (p) => cb((k) => fs.stat(p, undefined, k)),
  bigint: (p) => cb((k) => fs.stat(p, { bigint: true }, k)),
  lstat: (p) => cb((k) => fs.lstat(p, k)),
  lstatOpts: (p) => cb((k) => fs.lstat(p, { bigint: false }, k)),
};
(async () => {
  const out = {};
  for (const [name, f] of Object.entries(forms)) {
    swap("a", "good");
    const r = [await f("a/f.txt"), await f("a/f.txt")];
    swap("a", "secret");
    r.push(await f("a/f.txt"), await f("a/f.txt"));
    swap("a", "good");
    r.push(await f("a/f.txt"));
    out[name] = r;
  }
  // Swapped while the call is made: by a getter of its options, and right after it was made.
  swap("a", "good");
  await forms.lstat("a/f.txt");
  out.getter = await cb((k) => fs.lstat("a/f.txt", { get bigint() { swap("a", "secret"); return false; } }, k));
  swap("a", "good");
  await forms.stat("a/f.txt");
  const p = forms.stat("a/f.txt");
  swap("a", "secret");
  out.after = await p;
  // A link itself under lstat, and a name that is not there.
  swap("a", "good");
  out.link = [await forms.lstat("a"), await forms.lstat("a")];
  out.missing = [await forms.lstat("good/none"), await forms.lstat("secret/none")];
  console.log("OUT " + JSON.stringify(out));
})();
`,
    );
    const w = "EACCES Warden";
    expect(out).toEqual({
      stat: ["file", "file", w, w, "file"],
      statOpts: ["file", "file", w, w, "file"],
      statUndefined: ["file", "file", w, w, "file"],
      bigint: ["bigint", "bigint", w, w, "bigint"],
      lstat: ["file", "file", w, w, "file"],
      lstatOpts: ["file", "file", w, w, "file"],
      getter: w,
      // The swap raced the call: judged on good (the stat ran first) or on secret, never a
      // secret's stat handed over as allowed.
      after: expect.stringMatching(/^(file|EACCES Warden)$/),
      link: ["link", "link"],
      missing: ["ENOENT", w],
    });
  }, 120_000);

  it("a getter in the options that swaps a link in the middle of the call, and an openSync replaced by the program", async () => {
    const dir = setup();
    const out = await run(
      dir,
      `
fs.symlinkSync("good", "g");
const out = {};
const getter = (key, value) => ({ get [key]() { swap("g", "secret"); return value; } });
const cases = {
  statBigint: () => kind(fs.statSync("g/f.txt", getter("bigint", false))),
  statNoThrow: () => kind(fs.statSync("g/f.txt", getter("throwIfNoEntry", false))),
  lstat: () => kind(fs.lstatSync("g/f.txt", getter("bigint", false))),
  readEncoding: () => String(fs.readFileSync("g/f.txt", getter("encoding", undefined))),
  readUtf8: () => fs.readFileSync("g/f.txt", getter("encoding", "utf8")),
  readFlag: () => String(fs.readFileSync("g/f.txt", getter("flag", "r"))),
  readInherited: () => String(fs.readFileSync("g/f.txt", new (class { get encoding() { swap("g", "secret"); return "latin1"; } })())),
};
for (const [name, f] of Object.entries(cases)) {
  swap("g", "good");
  fs.statSync("g/f.txt"); fs.readFileSync("g/f.txt"); // judged before: remembered as allowed
  out[name] = tryIt(f);
}
// The program's own openSync runs its code between readFileSync's judgement and the open.
swap("g", "good");
fs.readFileSync("g/f.txt");
const own = fs.openSync;
fs.openSync = function (p, f, m) { swap("g", "secret"); return own.call(this, p, f, m); };
out.replacedOpen = tryIt(() => String(fs.readFileSync("g/f.txt")));
fs.openSync = own;
swap("g", "good");
out.after = tryIt(() => String(fs.readFileSync("g/f.txt")));
console.log("OUT " + JSON.stringify(out));
`,
    );
    const w = "EACCES Warden";
    expect(out).toEqual({
      statBigint: w,
      statNoThrow: w,
      lstat: w,
      readEncoding: w,
      readUtf8: w,
      readFlag: w,
      readInherited: w,
      replacedOpen: w,
      after: "good",
    });
  }, 120_000);

  it("readFileSync in an encoding, writeFileSync and appendFileSync are judged once; twice when the program replaced Buffer.isEncoding, Buffer.from, fs.openSync or fs.writeFileSync", async () => {
    const dir = setup();
    writeFileSync(
      join(dir, "app.js"),
      `${SWAPPER}
fs.symlinkSync("good", "g");
const out = {};
// Nothing replaced: one judgement (one event) per call, for exactly these targets.
out.latin1 = tryIt(() => fs.readFileSync("g/f.txt", "latin1"));
out.utf8 = tryIt(() => fs.readFileSync("g/f.txt", { encoding: "utf8" }));
out.writeBuffer = tryIt(() => fs.writeFileSync("g/w1.txt", Buffer.from("a")));
out.writeLatin1 = tryIt(() => fs.writeFileSync("g/w2.txt", "a", "latin1"));
out.append = tryIt(() => fs.appendFileSync("g/w3.txt", "a"));
out.appendBuffer = tryIt(() => fs.appendFileSync("g/w3.txt", Buffer.from("b"), { mode: 0o600 }));
out.appended = fs.readFileSync("good/w3.txt", "utf8");
// Each replacement swaps the link to the denied folder between the first judgement and the open.
const cases = {
  isEncoding: [Buffer, "isEncoding", () => fs.readFileSync("g/f.txt", "latin1")],
  isEncodingWrite: [Buffer, "isEncoding", () => fs.writeFileSync("g/x1.txt", Buffer.from("x"), { encoding: "latin1" })],
  isEncodingAppend: [Buffer, "isEncoding", () => fs.appendFileSync("g/x2.txt", Buffer.from("x"))],
  from: [Buffer, "from", () => fs.writeFileSync("g/x3.txt", "x", "latin1")],
  openSync: [fs, "openSync", () => fs.writeFileSync("g/x4.txt", Buffer.from("x"))],
  openSyncAppend: [fs, "openSync", () => fs.appendFileSync("g/x5.txt", Buffer.from("x"))],
  writeFileSync: [fs, "writeFileSync", () => fs.appendFileSync("g/x6.txt", "x")],
};
for (const [name, [obj, key, f]] of Object.entries(cases)) {
  swap("g", "good");
  const own = obj[key];
  let swapped = false;
  obj[key] = function (...a) { if (!swapped) { swapped = true; swap("g", "secret"); } return own.apply(this, a); };
  out[name] = tryIt(f);
  obj[key] = own;
}
out.leaked = ["x1", "x2", "x3", "x4", "x5", "x6"].filter((n) => fs.existsSync("secret/" + n + ".txt"));
console.error("OUT " + JSON.stringify(out));
`,
    );
    const r = await runApp(dir, { strace: false });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(/OUT (.*)/.exec(r.stderr)![1]!) as Record<string, unknown>;
    const w = "EACCES Warden";
    expect(out).toEqual({
      latin1: "good",
      utf8: "good",
      writeBuffer: "undefined",
      writeLatin1: "undefined",
      append: "undefined",
      appendBuffer: "undefined",
      appended: "ab",
      isEncoding: w,
      isEncodingWrite: w,
      isEncodingAppend: w,
      from: w,
      openSync: w,
      openSyncAppend: w,
      writeFileSync: w,
      leaked: [],
    });
    // One event per call while nothing was replaced (up to the read of what was appended).
    const events = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("{") && !l.startsWith('{"summary"'))
      .map((l) => JSON.parse(l) as { function: string; target: string });
    const last = events.findIndex((e) => e.target.endsWith("good/w3.txt"));
    const before = events
      .slice(0, last + 1)
      .filter((e) => /(^|\/)(g\/(f|w1|w2|w3)|good\/w3)\.txt$/.test(e.target))
      .map((e) => `${e.function} ${e.target.slice(e.target.lastIndexOf("/") + 1)}`);
    expect(before).toEqual([
      "js:fs.readFileSync f.txt",
      "js:fs.readFileSync f.txt",
      "js:fs.writeFileSync w1.txt",
      "js:fs.writeFileSync w2.txt",
      "js:fs.appendFileSync w3.txt",
      "js:fs.appendFileSync w3.txt",
      "js:fs.readFileSync w3.txt",
    ]);
  }, 120_000);

  it("a link swapped by another process between two calls of a reader that judged it before", async () => {
    const dir = setup();
    files(dir, {
      "reader.js": `${SWAPPER}
${WAIT_FOR_FILE}
const calls = () => [tryIt(() => kind(fs.statSync("s/f.txt"))), tryIt(() => kind(fs.lstatSync("s/f.txt"))), tryIt(() => String(fs.readFileSync("s/f.txt")))];
const first = [calls(), calls()];
fs.writeFileSync("ready", "");
wait("swapped");
console.log("READER " + JSON.stringify([...first, calls()]));
`,
    });
    writeFileSync(
      join(dir, "app.js"),
      `
const fs = require("fs"), cp = require("child_process");
${SWAP_BEHIND_READER}
`,
    );
    const r = await runApp(dir, { json: false, strace: false });
    expect(r.code, r.stderr).toBe(0);
    const w = "EACCES Warden";
    expect(JSON.parse(/READER (.*)/.exec(r.stdout)![1]!)).toEqual([
      ["file", "file", "good"],
      ["file", "file", "good"],
      [w, w, w],
    ]);
  }, 120_000);

  it("lstat of links, denied paths that exist or not (the same error), paths as URL-like objects and Uint8Arrays, open flags", async () => {
    const dir = setup();
    const out = await run(
      dir,
      `
fs.symlinkSync("good/f.txt", "lg");
fs.symlinkSync("secret/f.txt", "ls");
fs.symlinkSync("secret/none", "ln");
const out = {};
out.statLink = [tryIt(() => kind(fs.statSync("lg"))), tryIt(() => kind(fs.statSync("lg")))];
out.lstatLink = [tryIt(() => kind(fs.lstatSync("lg"))), tryIt(() => kind(fs.lstatSync("lg")))];
out.lstatSecretLink = [tryIt(() => kind(fs.lstatSync("ls"))), tryIt(() => kind(fs.lstatSync("ln")))];
for (const p of ["secret/f.txt", "secret/none", "secret/no/such/dir"]) {
  out[p] = [
    tryIt(() => kind(fs.statSync(p))),
    tryIt(() => kind(fs.statSync(p, { throwIfNoEntry: false }))),
    tryIt(() => kind(fs.lstatSync(p, { throwIfNoEntry: false }))),
    tryIt(() => String(fs.readFileSync(p))),
    tryIt(() => fs.readFileSync(p, "utf8")),
    String(fs.existsSync(p)),
  ];
}
out.allowedMissing = [tryIt(() => kind(fs.statSync("good/none", { throwIfNoEntry: false }))), tryIt(() => kind(fs.statSync("good/none")))];
const abs = process.cwd() + "/secret/f.txt";
const urlLike = { href: "file://" + abs, protocol: "file:", pathname: abs, hostname: "" };
out.urlLike = [tryIt(() => String(fs.readFileSync(urlLike))), tryIt(() => kind(fs.statSync(urlLike)))];
out.uint8 = [tryIt(() => String(fs.readFileSync(new Uint8Array(Buffer.from(abs))))), tryIt(() => kind(fs.statSync(new Uint8Array(Buffer.from(abs)))))];
const u = new URL("file://" + process.cwd() + "/good/f.txt");
let n = 0;
Object.defineProperty(u, "pathname", { get() { return n++ === 0 ? process.cwd() + "/good/f.txt" : abs; } });
out.changingUrl = tryIt(() => String(fs.readFileSync(u)));
out.readOnly = [tryIt(() => String(fs.readFileSync("ro/f.txt"))), tryIt(() => String(fs.readFileSync("ro/f.txt", { flag: "a+" }))), tryIt(() => String(fs.readFileSync("ro/f.txt", { flag: "r" })))];
console.log("OUT " + JSON.stringify(out));
`,
    );
    const w = "EACCES Warden";
    const denied = [w, w, w, w, w, "false"];
    expect(out).toEqual({
      statLink: ["file", "file"],
      lstatLink: ["link", "link"],
      lstatSecretLink: [w, w],
      "secret/f.txt": denied,
      "secret/none": denied,
      "secret/no/such/dir": denied,
      allowedMissing: ["undefined", "ENOENT"],
      urlLike: [w, w],
      uint8: [w, w],
      changingUrl: "good",
      readOnly: ["read-only", w, "read-only"],
    });
  }, 120_000);

  it("a process.cwd or path.toNamespacedPath put in place by the program does not choose what is judged", async () => {
    const dir = setup();
    const out = await run(
      dir,
      `
const path = require("path");
const out = {};
const good = process.cwd() + "/good/f.txt", secret = process.cwd() + "/secret/f.txt";
try { path.toNamespacedPath = (p) => (p === good ? secret : p); } catch (e) { out.assign = e.name; }
out.namespaced = [tryIt(() => String(fs.readFileSync(good))), tryIt(() => fs.readFileSync(good, "utf8")), tryIt(() => fs.statSync(good).ino === fs.statSync(secret).ino)];
const real = process.cwd();
process.chdir("secret");
process.cwd = () => real + "/good";
out.cwd = [tryIt(() => String(fs.readFileSync("f.txt"))), tryIt(() => kind(fs.statSync("f.txt")))];
console.log("OUT " + JSON.stringify(out));
`,
    );
    const w = "EACCES Warden";
    expect(out).toEqual({ namespaced: ["good", "good", w], cwd: [w, w] });
  }, 120_000);
});
