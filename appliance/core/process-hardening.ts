/**
 * Keeps decrypted keys and PIN-derived secrets out of core dumps. Bun has no process.setrlimit, so
 * this calls libc through bun:ffi: setrlimit(RLIMIT_CORE, 0) and prctl(PR_SET_DUMPABLE, 0). The
 * latter also stops processes of the same uid from ptrace-attaching or reading /proc/PID/mem.
 * Best effort: where libc cannot be loaded (not glibc), the caller logs that it did not happen and
 * the systemd unit's LimitCORE=0 is the remaining line of defence.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";

const RLIMIT_CORE = 4;
const PR_SET_DUMPABLE = 4;
const PR_GET_DUMPABLE = 3;

export interface HardeningResult {
  coreDumps: "disabled" | "unchanged";
  dumpable: boolean | null;
  error?: string;
}

export function disableCoreDumps(): HardeningResult {
  let libc: ReturnType<typeof openLibc>;
  try {
    libc = openLibc();
  } catch (err) {
    return { coreDumps: "unchanged", dumpable: null, error: (err as Error).message };
  }
  try {
    const zero = new BigUint64Array([0n, 0n]); // struct rlimit { rlim_cur, rlim_max }
    const rl = libc.symbols.setrlimit(RLIMIT_CORE, ptr(zero));
    libc.symbols.prctl(PR_SET_DUMPABLE, 0n, 0n, 0n, 0n);
    const dumpable = libc.symbols.prctl(PR_GET_DUMPABLE, 0n, 0n, 0n, 0n) !== 0;
    return {
      coreDumps: rl === 0 ? "disabled" : "unchanged",
      dumpable,
      ...(rl === 0 ? {} : { error: "setrlimit(RLIMIT_CORE) failed" }),
    };
  } finally {
    libc.close();
  }
}

function openLibc() {
  return dlopen("libc.so.6", {
    setrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    prctl: {
      args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64],
      returns: FFIType.i32,
    },
  });
}
