/**
 * Keeps the runtime's allocator from handing freed memory back to the kernel while the appliance is
 * busy. Bun's allocator (mimalloc) purges free pages 100 ms after they are freed; every socket read
 * is a fresh buffer (a 1 MiB request arrives in ~5 reads of ~214 KiB), so under a steady load of
 * large requests the same memory is purged and faulted back in over and over: measured here, 40-80
 * page faults and ~100 us of kernel time per MiB on the main thread, ~8% of a 1 MiB HMAC's CPU.
 *
 * mimalloc reads its options from the environment once, at process start, and Bun does not export
 * its option setter; so `serve` and `demo` re-execute themselves once, first thing (main.ts), with
 * MIMALLOC_PURGE_DELAY=10000: execve keeps the pid, argv, open descriptors and the terminal. Memory
 * stays with the process for 10 s after it was last used, then goes back as before; never purging
 * (-1) faults no less under load and keeps ~11-19 MiB of start-up garbage (the KDF's scratch memory)
 * for good. An operator who sets
 * MIMALLOC_PURGE_DELAY (any value, e.g. 100 for the runtime's default) is left alone.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";
import { readFileSync } from "node:fs";

export const PURGE_DELAY_VARIABLE = "MIMALLOC_PURGE_DELAY";
/** Milliseconds a freed page waits before it goes back to the kernel. */
export const PURGE_DELAY_MS = "10000";

export type TuningResult = { state: "tuned" | "operator-set" } | { state: "unavailable"; error: string };

let outcome: TuningResult | undefined;

/**
 * Re-executes the process with the allocator tuned; returns only when it does not (or need not).
 * The first call decides; later calls return its result (main.ts calls it first, cli.ts to report).
 */
export function tuneAllocator(env: NodeJS.ProcessEnv = process.env): TuningResult {
  outcome ??= attempt(env);
  return outcome;
}

function attempt(env: NodeJS.ProcessEnv): TuningResult {
  if (env[PURGE_DELAY_VARIABLE] !== undefined) {
    if (env[STDERR_VARIABLE] !== undefined) takeBackStderr(env);
    return { state: env[PURGE_DELAY_VARIABLE] === PURGE_DELAY_MS ? "tuned" : "operator-set" };
  }
  try {
    const argv = readFileSync("/proc/self/cmdline", "latin1").split("\0");
    if (argv.at(-1) === "") argv.pop();
    const error = execve("/proc/self/exe", argv, env);
    return { state: "unavailable", error };
  } catch (err) {
    return { state: "unavailable", error: (err as Error).message };
  }
}

/**
 * The re-executed image: its stderr, set aside across execve (see execve below), back on fd 2 before
 * anything of ours writes to it.
 */
function takeBackStderr(env: NodeJS.ProcessEnv): void {
  const fd = Number(env[STDERR_VARIABLE]);
  delete env[STDERR_VARIABLE]; // not passed on to anything this process starts
  if (!Number.isInteger(fd) || fd < 3) return;
  const libc = dlopen("libc.so.6", {
    dup2: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
  });
  try {
    libc.symbols.dup2(fd, 2);
    libc.symbols.close(fd);
  } finally {
    libc.close();
  }
}

/** execve(2) of this program through libc, allocator tuned; returns a message only if it failed. */
function execve(path: string, argv: string[], env: NodeJS.ProcessEnv): string {
  const keep: Buffer[] = [];
  // argv is /proc/self/cmdline's bytes read as latin1, so latin1 writes them back unchanged
  const pointers = (list: string[], encoding: BufferEncoding) => {
    const out = new BigUint64Array(list.length + 1); // NULL-terminated
    list.forEach((s, i) => {
      const b = Buffer.from(`${s}\0`, encoding);
      keep.push(b); // alive until execve has read it
      out[i] = BigInt(ptr(b));
    });
    return out;
  };
  const libc = dlopen("libc.so.6", {
    execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    sigaction: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    dup: { args: [FFIType.i32], returns: FFIType.i32 },
    dup2: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    open: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
  });
  // The new image starts with SIGPWR ignored (below), and the runtime says so on stderr as it takes
  // the signal over ("Overriding existing handler for signal 30"): a line that means nothing to an
  // operator. So stderr waits on a spare descriptor, named in the environment, while fd 2 is
  // /dev/null; the new image puts it back first thing (takeBackStderr).
  const saved = libc.symbols.dup(2);
  const devNull = saved >= 0 ? libc.symbols.open(ptr(Buffer.from("/dev/null\0")), O_WRONLY) : -1;
  const asideStderr = devNull >= 0 && libc.symbols.dup2(devNull, 2) === 2;
  if (devNull >= 0) libc.symbols.close(devNull);
  if (!asideStderr && saved >= 0) libc.symbols.close(saved);
  const environment = Object.entries({
    ...env,
    [PURGE_DELAY_VARIABLE]: PURGE_DELAY_MS,
    ...(asideStderr ? { [STDERR_VARIABLE]: String(saved) } : {}),
  })
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  const argvArray = pointers(argv, "latin1");
  const envArray = pointers(environment, "utf8");
  // The runtime stops threads with SIGPWR (its sampling profiler, --cpu-prof, does it all the time).
  // One sent as execve runs would reach the new image before it installs its handler, and SIGPWR's
  // default action ends the process: seen as a start that dies at once, 1 in ~10 with --cpu-prof.
  // Ignored, it is discarded; an ignored signal stays ignored across execve until the new image
  // installs its handler, as the runtime does at start.
  const ignore = Buffer.alloc(SIGACTION_SIZE);
  ignore.writeBigUInt64LE(SIG_IGN, 0);
  const previous = Buffer.alloc(SIGACTION_SIZE);
  const ignored = libc.symbols.sigaction(SIGPWR, ptr(ignore), ptr(previous)) === 0;
  try {
    libc.symbols.execve(ptr(Buffer.from(`${path}\0`, "latin1")), ptr(argvArray), ptr(envArray));
    return `execve(${path}) failed`;
  } finally {
    if (ignored) libc.symbols.sigaction(SIGPWR, ptr(previous), null);
    if (asideStderr) {
      libc.symbols.dup2(saved, 2);
      libc.symbols.close(saved);
    }
    libc.close();
  }
}

/** Linux (x86-64, arm64): SIGPWR's number, SIG_IGN, and room for glibc's struct sigaction (152 bytes). */
const SIGPWR = 30;
const SIG_IGN = 1n;
const SIGACTION_SIZE = 256;
const O_WRONLY = 1;
/** Names the descriptor that holds stderr across the re-exec. */
const STDERR_VARIABLE = "VHSM_REEXEC_STDERR_FD";
