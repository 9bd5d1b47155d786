/**
 * `warden run` on whole programs (issue 22: ≤ 1.3× the untraced wall time, median of 5, side by
 * side in one run): the project's own `tsc` build, `npm ci --offline` of Warden's own dependency
 * tree (its package-lock.json, every package from the local npm cache: what the issue measures),
 * and `npm ci --offline` of 5 small packages (where the fixed costs of a traced run show). Untraced and traced runs take turns (U T U T ...), so both see
 * the same machine; each row gives the median wall time, and the note the ratio and the CPU time
 * (user + sys of the whole process tree, from /usr/bin/time when it is there: on a loaded machine
 * it says more than the wall clock). Traced runs use what a user gets without --policy (the
 * default policy for tsc, the npm-install preset for npm ci), strace off unless
 * WARDEN_BENCH_STRACE=1. Each row's note gives the load average (`uptime`) before and after it.
 * Both run as from a user's shell: without the variables `npm run bench` adds to the environment,
 * stdout to /dev/null and stderr into a file (not a pipe this process reads).
 *
 *   npm run bench -- --only trace-programs            (5 runs each; --quick: 2, a tiny project)
 *   WARDEN_BENCH_PROGRAMS=npm npm run bench -- --only trace-programs   (both npm ci rows only)
 *   WARDEN_BENCH_PROGRAMS=npm-tree | npm-small | tsc                     (one of them only)
 *
 * The dependency tree needs its packages in the npm cache (`npm ci` of this checkout puts them
 * there); without them `npm ci --offline` fails and the bench says so.
 */
import { spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Harness } from "./harness.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = join(ROOT, "dist/cli/main.js");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const TIME = "/usr/bin/time";
/** Small packages without dependencies of their own, all in Warden's tree (so in the cache). */
const NPM_DEPS = ["commander", "picomatch", "yaml", "shell-quote", "jsonc-parser"];

interface Timed {
  wall_ms: number;
  cpu_ms: number | undefined;
}

/**
 * The environment a user's shell gives the program: `npm run bench` adds its own (`npm_config_*`,
 * `npm_package_*`, `npm_lifecycle_*`, `INIT_CWD`, `NODE`, ...), which the npm under test would
 * take as its configuration; a user typing `warden run -- npm ci` has none of it.
 */
function shellEnv(): NodeJS.ProcessEnv {
  if (process.env.npm_lifecycle_event === undefined) return process.env;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^npm_/i.test(k) && !["INIT_CWD", "NODE", "COLOR", "EDITOR"].includes(k)) env[k] = v;
  return env;
}

function run(argv: string[], cwd: string, traced: boolean, out: string): Timed {
  const cmd = traced ? [process.execPath, CLI, "run", ...straceFlag(), "--", ...argv] : argv;
  const useTime = existsSync(TIME);
  const full = useTime ? [TIME, "-f", "%U %S", "-o", out, ...cmd] : cmd;
  // stderr (warden run's lines and summary, the program's warnings) into a file, as a terminal
  // or a shell's redirect takes it: not a pipe this process drains while the run goes on.
  const errPath = `${out}.err`;
  const errFd = openSync(errPath, "w");
  const t0 = process.hrtime.bigint();
  let r: ReturnType<typeof spawnSync>;
  try {
    r = spawnSync(full[0]!, full.slice(1), {
      cwd,
      env: shellEnv(),
      stdio: ["ignore", "ignore", errFd],
    });
  } finally {
    closeSync(errFd);
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0)
    throw new Error(
      `${cmd.join(" ")} exited ${r.status}: ${readFileSync(errPath, "utf8").slice(-2000)}`,
    );
  let cpu: number | undefined;
  if (useTime) {
    const [u, s] = readFileSync(out, "utf8").trim().split("\n").at(-1)!.split(" ").map(Number);
    cpu = ((u ?? 0) + (s ?? 0)) * 1000;
  }
  return { wall_ms: wall, cpu_ms: cpu };
}

function straceFlag(): string[] {
  return process.env.WARDEN_BENCH_STRACE === "1" ? ["--strace"] : ["--no-strace"];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** U T U T ... `n` times each; `before` runs untimed before each run (a clean tree). */
function sideBySide(
  h: Harness,
  name: string,
  argv: string[],
  cwd: string,
  n: number,
  before: () => void,
): void {
  const out = join(cwd, ".time");
  const load0 = loadavg()[0]!.toFixed(1);
  const u: Timed[] = [];
  const t: Timed[] = [];
  for (let i = 0; i < n; i++) {
    before();
    u.push(run(argv, cwd, false, out));
    before();
    t.push(run(argv, cwd, true, out));
  }
  const mu = median(u.map((x) => x.wall_ms));
  const mt = median(t.map((x) => x.wall_ms));
  const cpu = (xs: Timed[]) =>
    xs.every((x) => x.cpu_ms !== undefined) ? median(xs.map((x) => x.cpu_ms!)) : undefined;
  const cu = cpu(u);
  const ct = cpu(t);
  const load = `load ${load0} → ${loadavg()[0]!.toFixed(1)}`;
  const row = (label: string, ms: number, note: string) =>
    h.record({
      name: `trace-programs: ${name}, ${label}`,
      p50_ns: Math.round(ms * 1e6),
      p99_ns: Math.round(ms * 1e6),
      ops_per_s: Math.round((1000 / ms) * 100) / 100,
      samples: n,
      note,
    });
  row(
    "untraced",
    mu,
    `median of ${n} wall; CPU ${cu === undefined ? "?" : Math.round(cu)} ms; ${load}`,
  );
  row(
    `warden run${process.env.WARDEN_BENCH_STRACE === "1" ? " --strace" : ""}`,
    mt,
    `median of ${n} wall: ${(mt / mu).toFixed(2)}x untraced (goal ≤ 1.3x); CPU ${
      ct === undefined ? "?" : Math.round(ct)
    } ms${cu !== undefined && ct !== undefined ? ` (${(ct / cu).toFixed(2)}x)` : ""}; ${load}`,
  );
}

export default async function (h: Harness): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "warden-trace-programs-"));
  const n = h.quick ? 2 : 5;
  try {
    const only = process.env.WARDEN_BENCH_PROGRAMS;
    // 1. tsc: the project's own build (into a scratch folder); --quick: a tiny project.
    if (only !== undefined && only !== "tsc") {
      // npm ci only (below).
    } else if (h.quick) {
      const p = join(dir, "tiny");
      mkdirSync(join(p, "src"), { recursive: true });
      writeFileSync(join(p, "src/a.ts"), "export const a: number = 1;\n");
      writeFileSync(
        join(p, "tsconfig.json"),
        JSON.stringify({ compilerOptions: { outDir: "out", strict: true }, include: ["src"] }),
      );
      sideBySide(h, "tsc (a one-file project)", [process.execPath, TSC, "-p", p], p, n, () => {});
    } else {
      const outDir = join(dir, "tsc-out");
      sideBySide(
        h,
        "tsc build of Warden (tsconfig.build.json)",
        [process.execPath, TSC, "-p", join(ROOT, "tsconfig.build.json"), "--outDir", outDir],
        ROOT,
        n,
        () => rmSync(outDir, { recursive: true, force: true }),
      );
    }

    if (only === "tsc") return;
    // 2. npm ci --offline of Warden's own dependency tree (not with --quick: tens of seconds).
    if (!h.quick && only !== "npm-small") {
      const tree = join(dir, "npm-tree");
      mkdirSync(tree);
      const own = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<
        string,
        unknown
      >;
      // Its dependencies only: no lifecycle scripts of Warden's own (prepare would build it).
      const pkg: Record<string, unknown> = { name: own.name, version: own.version, private: true };
      for (const k of ["dependencies", "devDependencies", "optionalDependencies", "overrides"])
        if (own[k] !== undefined) pkg[k] = own[k];
      writeFileSync(join(tree, "package.json"), JSON.stringify(pkg, null, 2));
      writeFileSync(join(tree, "package-lock.json"), readFileSync(join(ROOT, "package-lock.json")));
      const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
        packages: Record<string, unknown>;
      };
      const count = Object.keys(lock.packages).filter((k) => k !== "").length;
      sideBySide(
        h,
        `npm ci --offline (Warden's own tree: ${count} entries in package-lock.json)`,
        ["npm", "ci", "--offline", "--no-audit", "--no-fund"],
        tree,
        n,
        () => rmSync(join(tree, "node_modules"), { recursive: true, force: true }),
      );
    }
    if (only === "npm-tree") return;

    // 3. npm ci --offline of a small tree whose packages are in the local cache (Warden's own).
    const app = join(dir, "npm-app");
    mkdirSync(app);
    const deps: Record<string, string> = {};
    for (const d of NPM_DEPS) {
      const pkg = JSON.parse(
        readFileSync(join(ROOT, "node_modules", d, "package.json"), "utf8"),
      ) as { version: string };
      deps[d] = pkg.version;
    }
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({ name: "bench-app", version: "1.0.0", private: true, dependencies: deps }),
    );
    // Its lock from Warden's own (the same versions, tarballs and hashes): `npm install
    // --package-lock-only --offline` needs the registry's metadata in the cache, which `npm ci`
    // does not put there.
    const own = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, Record<string, unknown>>;
    };
    const packages: Record<string, unknown> = {
      "": { name: "bench-app", version: "1.0.0", dependencies: deps },
    };
    for (const d of NPM_DEPS) {
      const e = own.packages[`node_modules/${d}`];
      if (e === undefined) throw new Error(`${d} is not in Warden's package-lock.json`);
      const { version, resolved, integrity, license, engines, bin } = e;
      packages[`node_modules/${d}`] = { version, resolved, integrity, license, engines, bin };
    }
    writeFileSync(
      join(app, "package-lock.json"),
      JSON.stringify(
        { name: "bench-app", version: "1.0.0", lockfileVersion: 3, requires: true, packages },
        null,
        2,
      ),
    );
    sideBySide(
      h,
      `npm ci --offline (${NPM_DEPS.length} packages from the cache)`,
      ["npm", "ci", "--offline", "--no-audit", "--no-fund"],
      app,
      n,
      () => rmSync(join(app, "node_modules"), { recursive: true, force: true }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
