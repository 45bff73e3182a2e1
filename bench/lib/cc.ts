/** Compiles a bench driver (C) at bench time, so the bench needs no build step of its own. */
import { spawnSync } from "node:child_process";

/** gcc -O2 SOURCE -o OUT ARGS..., throwing with the compiler's output when it fails. */
export function compileC(source: string, out: string, args: string[] = []): string {
  const r = spawnSync("gcc", ["-O2", "-Wall", "-Wextra", "-Werror", source, "-o", out, ...args], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`gcc ${source} failed: ${r.error?.message ?? r.stderr}`);
  return out;
}

/** pkg-config --cflags PACKAGE, or null when the package's development files are missing. */
export function pkgCflags(pkg: string): string[] | null {
  const r = spawnSync("pkg-config", ["--cflags", pkg], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim().split(/\s+/).filter(Boolean) : null;
}
