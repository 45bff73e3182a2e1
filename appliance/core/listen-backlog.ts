/**
 * Raises a listening Unix socket's accept queue above the runtime's fixed 512: Bun.listen (and Bun's
 * node:net) take no backlog, so a container whose connection pool opens more connections at once than
 * the queue holds has the rest refused (ECONNREFUSED) before the appliance ever sees them — measured
 * here: 1,480 of 2,000 simultaneous connects to one container socket refused. listen(2) may be called
 * again on a listening socket to change its backlog (the kernel caps it at net.core.somaxconn); the
 * socket's descriptor is found through its inode in /proc. Linux with glibc only: anywhere else, or if
 * any step fails, the runtime's queue stays and the reason is returned for the log.
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

/** The descriptor of this process's listening socket bound to `path`, or null. */
function listeningFd(path: string): number | null {
  const line = readFileSync("/proc/net/unix", "utf8")
    .split("\n")
    .find((l) => l.endsWith(` ${path}`) && l.split(/\s+/)[6] !== undefined);
  const inode = line?.trim().split(/\s+/)[6];
  if (!inode) return null;
  const target = `socket:[${inode}]`;
  for (const entry of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${entry}`) === target) return Number(entry);
    } catch {} // a descriptor closed while we looked
  }
  return null;
}

/** Sets the accept queue of the Unix socket listening at `path`; null on success, else why not. */
export function raiseBacklog(path: string, backlog: number): string | null {
  try {
    const listen = libcListen();
    if (!listen) return "no libc listen(2) through bun:ffi";
    const fd = listeningFd(path);
    if (fd === null) return `no listening descriptor found for ${path}`;
    return listen(fd, backlog) === 0 ? null : "listen(2) failed";
  } catch (err) {
    return (err as Error).message;
  }
}
