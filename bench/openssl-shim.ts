/**
 * The OpenSSL provider "vhsm" against OpenSSL's default provider, in one process and one run:
 * HMAC-SHA1 over 4 KiB and 1 MiB, Ed25519 and ECDSA P-256 signatures (64-byte messages), through the
 * public EVP API (agent/c/tests/prov_bench.c), sequentially (one request in flight), plus the sizes
 * of the shipped .so files (target: each < 200 KiB).
 *   bun bench/openssl-shim.ts [--seconds N] [--no-write]
 * Prints a markdown section; unless --no-write, it also replaces this bench's own section (between
 * its markers) at the end of bench/RESULTS.md, leaving everything else in that file alone.
 * Standalone: starts its own appliance (test/support/appliance.ts) and builds agent/c with make.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, release } from "node:os";
import { join } from "node:path";
import { $ } from "bun";
import { ROOT, startTestAppliance } from "../test/support/appliance.ts";

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf("--seconds") + 1] ?? 0) || 2;
const write = !args.includes("--no-write");
const command = ["bun bench/openssl-shim.ts", ...args].join(" ");
const DIST = join(ROOT, "dist");
const BENCH_BIN = join(ROOT, "agent/c/build/tests/prov_bench");
const SO_FILES = ["lib/ossl-modules/vhsm.so", "lib/engines/vhsm.so", "lib/libvhsm.so"];
const SIZE_TARGET = 200 * 1024;
const MARK = "openssl-shim";

interface Sample {
  op: string;
  impl: "vhsm" | "default";
  count: number;
  seconds: number;
  bytes: number;
}

const LABELS: Record<string, string> = {
  "hmac-sha1-4k": "HMAC-SHA1 4 KiB",
  "hmac-sha1-1m": "HMAC-SHA1 1 MiB",
  "ed25519-sign": "Ed25519 sign",
  "p256-sign": "ECDSA P-256 sign",
};

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const mibs = (s: Sample) => (s.count * s.bytes) / s.seconds / 2 ** 20;

async function measure(): Promise<Sample[]> {
  await $`make -s -C ${join(ROOT, "agent/c")} DIST=${DIST}`.quiet();
  const app = await startTestAppliance();
  try {
    await app.setupClient("c1", "bench", "bench-pin-1");
    const pinFile = join(app.dir, "pin");
    const keyFile = join(app.dir, "k1.key");
    writeFileSync(pinFile, "bench-pin-1", { mode: 0o600 });
    writeFileSync(keyFile, crypto.getRandomValues(new Uint8Array(32)), { mode: 0o600 });
    const env = {
      ...process.env,
      VHSM_SOCKET: app.socketOf("c1"),
      VHSM_USER: "bench",
      VHSM_PIN_FILE: pinFile,
    };
    const tool = join(DIST, "bin/vhsm-tool");
    await $`${tool} key import k1 < ${keyFile}`.env(env).quiet();
    await $`${tool} key generate e1 ed25519`.env(env).quiet();
    await $`${tool} key generate p256 ecdsa-p256`.env(env).quiet();
    const out = await $`${BENCH_BIN} ${join(DIST, "lib/ossl-modules")} k1 ${keyFile} e1 p256 ${seconds}`
      .env(env)
      .text();
    return out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Sample);
  } finally {
    await app.dispose();
  }
}

function report(samples: Sample[]): string {
  const rows = Object.keys(LABELS).map((op) => {
    const v = samples.find((s) => s.op === op && s.impl === "vhsm")!;
    const d = samples.find((s) => s.op === op && s.impl === "default")!;
    const [vr, dr] = [v.count / v.seconds, d.count / d.seconds];
    const speed = (s: Sample, r: number) => (s.bytes >= 4096 ? `${fmt(r)} (${fmt(mibs(s))} MiB/s)` : fmt(r));
    return `| ${LABELS[op]} | ${speed(v, vr)} | ${speed(d, dr)} | ${(vr / dr).toFixed(2)} |`;
  });
  const sizes = SO_FILES.map((f) => {
    const bytes = statSync(join(DIST, f)).size;
    return `| \`dist/${f}\` | ${fmt(bytes / 1024)} KiB | ${bytes < SIZE_TARGET ? "yes" : "**no**"} |`;
  });
  const cpu = cpus();
  const when = new Date().toISOString().slice(0, 16).replace("T", " ");
  return [
    "## openssl-shim: the OpenSSL provider vs the default provider, in-process",
    `\`${command}\` — ${when} UTC — ${cpu.length} × ${cpu[0]?.model.trim()}, kernel ${release()}, ` +
      `Bun ${Bun.version}, OpenSSL ${readOpensslVersion()}, ` +
      `appliance: \`bun appliance/main.ts\`, ${seconds} s per figure, one request in flight`,
    "| operation (ops/s) | provider `vhsm` (appliance) | provider `default` (in-process) | vhsm / default |",
    "|---|---|---|---|",
    ...rows,
    "",
    "| shipped file (symbols, no DWARF) | size | < 200 KiB |",
    "|---|---|---|",
    ...sizes,
    "",
    "The vhsm figures include one round trip to the appliance per operation (Unix socket, framed " +
      "protocol, one request in flight); the default provider computes in the calling thread. Both run " +
      "in the same process one after the other, so the ratio is less disturbed by other load than the " +
      "figures are. ECDSA messages up to 16 KiB go to the appliance whole (it signs them natively); " +
      "longer ones are hashed in-process and signed prehashed.",
  ].join("\n");
}

function readOpensslVersion(): string {
  const r = Bun.spawnSync(["openssl", "version"]);
  return r.stdout.toString().trim().split(" ")[1] ?? "3";
}

/** Replaces this bench's marked section of RESULTS.md (appending it the first time). */
function writeResults(section: string): void {
  const path = join(ROOT, "bench/RESULTS.md");
  const open = `<!-- bench:${MARK} -->`;
  const close = `<!-- /bench:${MARK} -->`;
  const body = `${open}\n${section}\n${close}`;
  const doc = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmark results\n";
  const a = doc.indexOf(open);
  const b = doc.indexOf(close);
  const next =
    a >= 0 && b > a ? doc.slice(0, a) + body + doc.slice(b + close.length) : `${doc.trimEnd()}\n\n${body}\n`;
  writeFileSync(path, next);
}

const section = report(await measure());
console.log(section);
if (write) writeResults(section);
