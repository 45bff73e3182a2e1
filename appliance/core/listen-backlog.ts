/**
 * Raises a listening Unix socket's accept queue above the runtime's fixed 512: Bun.listen (and Bun's
 * node:net) take no backlog, so a container whose connection pool opens more connections at once than
 * the queue holds has the rest refused (ECONNREFUSED) before the appliance ever sees them — measured
 * here: 1,480 of 2,000 simultaneous connects to one container socket refused. listen(2) may be called
 * again on a listening socket to change its backlog (the kernel caps it at net.core.somaxconn); the
 * socket's descriptor is found in /proc. Linux with glibc only: anywhere else, or if any step fails,
 * the runtime's queue stays and the reason is returned for the log.
 */
import { dlopen, FFIType } from "bun:ffi";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

type Listen = (fd: number, backlog: number) => number;
let listenFn: Listen | null | undefined;

function libcListen(): Listen | null {
  if (listenFn === undefined) {
    try {
      const libc = dlopen("libc.so.6", {
        listen: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      });
      listenFn = (fd, backlog) => libc.symbols.listen(fd, backlog) as number;
    } catch {
      listenFn = null;
    }
  }
  return listenFn;
}

/** This process's socket descriptors, by their /proc name (`socket:[inode]`). */
function socketDescriptors(): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of readdirSync("/proc/self/fd")) {
    try {
      const target = readlinkSync(`/proc/self/fd/${entry}`);
      if (target.startsWith("socket:[")) out.set(target, Number(entry));
    } catch {} // a descriptor closed while we looked
  }
  return out;
}

/** The inodes of listening Unix sockets (/proc/net/unix flag __SO_ACCEPTCON), with their paths. */
function listeningUnixSockets(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync("/proc/net/unix", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 7 && (Number.parseInt(f[3]!, 16) & 0x10000) !== 0) out.set(f[6]!, f[7] ?? "");
  }
  return out;
}

/**
 * Runs `listen` (which creates one listening Unix socket at `path`) and sets that socket's accept
 * queue to `backlog`. The socket is the one listening socket among the descriptors `listen` added;
 * failing that, the one /proc/net/unix names `path` (a path over 107 bytes is bound through a
 * directory descriptor, so /proc shows `/proc/self/fd/N/name` instead). `notRaised` is null on
 * success, else why not.
 */
export function listenWithBacklog<T>(
  path: string,
  backlog: number,
  listen: () => T,
): { listener: T; notRaised: string | null } {
  let before: Map<string, number> | null = null;
  try {
    before = socketDescriptors();
  } catch {}
  const listener = listen();
  return { listener, notRaised: raise(path, backlog, before) };
}

function raise(path: string, backlog: number, before: Map<string, number> | null): string | null {
  try {
    const listenCall = libcListen();
    if (!listenCall) return "no libc listen(2) through bun:ffi";
    const listening = listeningUnixSockets();
    const ours = [...socketDescriptors()].filter(([name]) => listening.has(name.slice(8, -1)));
    const added = before ? ours.filter(([name]) => !before.has(name)) : [];
    const byPath = ours.filter(([name]) => listening.get(name.slice(8, -1)) === path);
    const fd = added.length === 1 ? added[0]![1] : byPath.length === 1 ? byPath[0]![1] : null;
    if (fd === null) return `no listening descriptor found for ${path}`;
    return listenCall(fd, backlog) === 0 ? null : "listen(2) failed";
  } catch (err) {
    return (err as Error).message;
  }
}
