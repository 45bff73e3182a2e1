/**
 * `openssl speed -multi N` for the sign bench's ceiling: the machine's OpenSSL, N processes, no IPC.
 * openssl speed always times verification too, so a call takes 2 × seconds × algorithms.
 */
import { spawnSync } from "node:child_process";

export type SpeedAlgorithm = "ed25519" | "ecdsap256" | "rsa2048";

/** Lines of the summary table, matched by the name openssl prints; sign/s is the 3rd number after it. */
const ROW: Record<SpeedAlgorithm, RegExp> = {
  rsa2048: /^rsa 2048 bits\s+\S+\s+\S+\s+([\d.]+)/m,
  ecdsap256: /ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)/,
  ed25519: /EdDSA \(Ed25519\)\s+\S+\s+\S+\s+([\d.]+)/,
};

/** Parses the summary table of `openssl speed` into signatures/s per algorithm. */
export function parseSpeed(output: string): Partial<Record<SpeedAlgorithm, number>> {
  const out: Partial<Record<SpeedAlgorithm, number>> = {};
  for (const [alg, re] of Object.entries(ROW) as [SpeedAlgorithm, RegExp][]) {
    const m = output.match(re);
    if (m) out[alg] = Number(m[1]);
  }
  return out;
}

export function opensslSpeed(
  algorithms: SpeedAlgorithm[],
  processes: number,
  seconds: number,
): Partial<Record<SpeedAlgorithm, number>> {
  const args = ["speed", "-seconds", String(Math.max(1, Math.round(seconds)))];
  if (processes > 1) args.push("-multi", String(processes));
  const r = spawnSync("openssl", [...args, ...algorithms], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl speed failed: ${r.error?.message ?? r.stderr}`);
  return parseSpeed(r.stdout);
}
