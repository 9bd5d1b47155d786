/**
 * WASI preview 1 as granted to plugins: clocks and randomness work; stdout/stderr writes are
 * captured (bounded) into the plugin's log; everything else is a deny stub that does no I/O and
 * returns the errno a real toolchain expects (EBADF for file descriptors, ENOTCAPABLE for paths
 * and sockets, ENOSYS otherwise). `proc_exit` ends the evaluation with a clear error.
 */
import { webcrypto } from "node:crypto";
import { type Budget, Interrupt } from "./budget.js";

export const WASI_MODULE = "wasi_snapshot_preview1";

const SUCCESS = 0;
const EBADF = 8;
const EFAULT = 21;
const EINVAL = 28;
const ENOSYS = 52;
const ESPIPE = 70;
const ENOTCAPABLE = 76;

/** Bytes of stdout/stderr kept per evaluation. */
export const LOG_LIMIT = 4096;

/** Everything a host function needs about the instance it serves. */
export interface HostContext {
  memory: WebAssembly.Memory | null;
  budget: Budget;
  log: string;
  logBytes: number;
}

type Fn = (...args: never[]) => number | undefined;

const FD_FUNCS = [
  "fd_advise",
  "fd_allocate",
  "fd_close",
  "fd_datasync",
  "fd_fdstat_set_flags",
  "fd_fdstat_set_rights",
  "fd_filestat_get",
  "fd_filestat_set_size",
  "fd_filestat_set_times",
  "fd_pread",
  "fd_prestat_get",
  "fd_prestat_dir_name",
  "fd_pwrite",
  "fd_read",
  "fd_readdir",
  "fd_renumber",
  "fd_sync",
  "fd_tell",
];
const PATH_FUNCS = [
  "path_create_directory",
  "path_filestat_get",
  "path_filestat_set_times",
  "path_link",
  "path_open",
  "path_readlink",
  "path_remove_directory",
  "path_rename",
  "path_symlink",
  "path_unlink_file",
  "sock_accept",
  "sock_recv",
  "sock_send",
  "sock_shutdown",
];

function view(ctx: HostContext, ptr: number, len: number): DataView | null {
  const buf = ctx.memory?.buffer;
  if (!buf || ptr < 0 || len < 0 || ptr + len > buf.byteLength) return null;
  return new DataView(buf, ptr, len);
}

function writeZeros(ctx: HostContext, ...ptrs: number[]): number {
  for (const p of ptrs) {
    const v = view(ctx, p >>> 0, 4);
    if (!v) return EFAULT;
    v.setUint32(0, 0, true);
  }
  return SUCCESS;
}

function nowNs(id: number): bigint {
  if (id === 0) return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  return process.hrtime.bigint();
}

/** The functions of `wasi_snapshot_preview1`, bound to one instance's context. */
export function wasiImports(ctx: HostContext): Record<string, Fn> {
  const out = hostImports(ctx);
  // Every host call is charged and checks fuel and deadline first (Budget.spend): the guest's
  // metering counts its own loop heads and calls, so a function body that is a long straight
  // line of host calls (each doing real work) would otherwise run far past its timeout.
  for (const [name, fn] of Object.entries(out)) {
    out[name] = (...args: never[]) => {
      ctx.budget.spend(1);
      return fn(...args);
    };
  }
  return out;
}

/** Units of fuel per byte a host function touches (as the sandbox charges memory.copy/fill). */
const BYTES_PER_UNIT = 64;

function hostImports(ctx: HostContext): Record<string, Fn> {
  const out: Record<string, Fn> = {};
  for (const name of FD_FUNCS) out[name] = () => EBADF;
  for (const name of PATH_FUNCS) out[name] = () => ENOTCAPABLE;
  Object.assign(out, {
    args_sizes_get: (a: number, b: number) => writeZeros(ctx, a, b),
    args_get: () => SUCCESS,
    environ_sizes_get: (a: number, b: number) => writeZeros(ctx, a, b),
    environ_get: () => SUCCESS,
    clock_res_get: (id: number, ptr: number) => {
      if (id < 0 || id > 3) return EINVAL;
      const v = view(ctx, ptr >>> 0, 8);
      if (!v) return EFAULT;
      v.setBigUint64(0, 1000n, true);
      return SUCCESS;
    },
    clock_time_get: (id: number, _precision: bigint, ptr: number) => {
      if (id < 0 || id > 3) return EINVAL;
      const v = view(ctx, ptr >>> 0, 8);
      if (!v) return EFAULT;
      v.setBigUint64(0, nowNs(id), true);
      return SUCCESS;
    },
    random_get: (ptr: number, len: number) => {
      ptr >>>= 0;
      len >>>= 0;
      if (!view(ctx, ptr, len)) return EFAULT;
      for (let at = 0; at < len; at += 65_536) {
        ctx.budget.spend(Math.ceil(Math.min(65_536, len - at) / BYTES_PER_UNIT));
        const n = Math.min(65_536, len - at);
        webcrypto.getRandomValues(new Uint8Array(ctx.memory!.buffer, ptr + at, n));
      }
      return SUCCESS;
    },
    fd_write: (fd: number, iovs: number, iovsLen: number, nwritten: number) => {
      if (fd !== 1 && fd !== 2) return EBADF;
      iovsLen >>>= 0;
      if (iovsLen > 1024) return EINVAL;
      const vec = view(ctx, iovs >>> 0, iovsLen * 8);
      const out = view(ctx, nwritten >>> 0, 4);
      if (!vec || !out) return EFAULT;
      let total = 0;
      // one unit per buffer (each is read and checked), as a guest loop over them would cost
      ctx.budget.spend(iovsLen);
      for (let i = 0; i < iovsLen; i++) {
        const p = vec.getUint32(i * 8, true);
        const n = vec.getUint32(i * 8 + 4, true);
        const data = view(ctx, p, n);
        if (!data) return EFAULT;
        total += n;
        const room = LOG_LIMIT - ctx.logBytes;
        if (room > 0) {
          const take = new Uint8Array(data.buffer, p, Math.min(n, room));
          ctx.log += new TextDecoder().decode(take);
          ctx.logBytes += take.length;
        }
      }
      out.setUint32(0, total, true);
      return SUCCESS;
    },
    fd_seek: (fd: number) => (fd >= 0 && fd <= 2 ? ESPIPE : EBADF),
    fd_fdstat_get: (fd: number, ptr: number) => {
      if (fd < 0 || fd > 2) return EBADF;
      const v = view(ctx, ptr >>> 0, 24);
      if (!v) return EFAULT;
      v.setUint8(0, 2); // character device
      v.setUint16(2, 0, true);
      v.setBigUint64(8, fd === 0 ? 0n : 1n << 6n, true); // fd_write on stdout/stderr only
      v.setBigUint64(16, 0n, true);
      return SUCCESS;
    },
    proc_exit: (code: number) => {
      throw (ctx.budget.interrupt = new Interrupt("proc_exit", code >>> 0));
    },
    proc_raise: () => ENOSYS,
    sched_yield: () => SUCCESS,
    poll_oneoff: () => ENOSYS,
  });
  return out;
}
