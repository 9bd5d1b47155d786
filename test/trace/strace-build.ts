/**
 * Native programs the strace tests run, compiled at test time with `clang -static` (no
 * dynamic loader, no libc the agents could hook) into test/.build/strace/<sha256>/, so a
 * program is compiled once per source and compiler flags (CI caches test/.build).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const BUILD = resolve("test", ".build", "strace");

/**
 * A static program that does, in order, what its arguments say, each through `syscall()`
 * (no libc wrapper): `read PATH` (openat), `connect PORT` (127.0.0.1), `exec CMD` (execve of
 * /bin/sh -c CMD with an empty environment: the trace's variables are gone).
 */
export const EVADER_C = `#include <unistd.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "read")) {
      long fd = syscall(SYS_openat, AT_FDCWD, argv[i + 1], O_RDONLY);
      if (fd >= 0) close((int)fd);
    } else if (!strcmp(argv[i], "connect")) {
      int s = socket(AF_INET, SOCK_STREAM, 0);
      struct sockaddr_in a;
      memset(&a, 0, sizeof a);
      a.sin_family = AF_INET;
      a.sin_port = htons((unsigned short)atoi(argv[i + 1]));
      a.sin_addr.s_addr = htonl(0x7f000001);
      syscall(SYS_connect, s, &a, sizeof a);
      close(s);
    } else if (!strcmp(argv[i], "exec")) {
      char *args[] = {"sh", "-c", argv[i + 1], 0};
      char *env[] = {0};
      syscall(SYS_execve, "/bin/sh", args, env);
      return 127;
    }
  }
  return 0;
}
`;

const FLAGS = ["-static", "-O1"];

/** The path of the static program built from `source` (compiled on first use). */
export function staticProgram(name: string, source: string): string {
  const hash = createHash("sha256")
    .update(FLAGS.join(" "))
    .update("\0")
    .update(source)
    .digest("hex");
  const dir = join(BUILD, hash.slice(0, 16));
  const out = join(dir, name);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const src = join(dir, `${name}.c`);
  writeFileSync(src, source);
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync("clang", [...FLAGS, "-o", tmp, src], { encoding: "utf8" });
  if (r.error !== undefined || r.status !== 0)
    throw new Error(
      `clang -static ${src} failed (install clang and libc6-dev: .ci/apt-deps): ${r.error?.message ?? r.stderr}`,
    );
  renameSync(tmp, out);
  return out;
}
