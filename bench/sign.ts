/**
 * Signatures per second through the appliance vs in-process node:crypto with a key of the same type
 * (the CryptoPro HSM figure the original slides quote is 15,000 signatures/s): Ed25519, ECDSA P-256,
 * RSA-2048 PKCS#1 v1.5, 32-byte messages. Best of interleaved rounds, as in the hmac bench.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign, verify } from "node:crypto";
import type { VhsmClient } from "../agent/index.ts";
import type { Bench, BenchReport } from "./lib/context.ts";
import { fmtFixed, fmtInt, fmtRatio, markdownTable } from "./lib/format.ts";
import { measureAsync, measureSync } from "./lib/load.ts";
import { barChart } from "./lib/svg.ts";

interface Algorithm {
  label: string;
  keyType: "ed25519" | "ecdsa-p256" | "rsa-2048";
  alg: "ed25519" | "ecdsa-sha256" | "rsa-pkcs1-sha256";
  /** node:crypto's digest argument for sign()/verify(). */
  digest: string | null;
  local: () => KeyObject;
}

const ALGORITHMS: Algorithm[] = [
  {
    label: "Ed25519",
    keyType: "ed25519",
    alg: "ed25519",
    digest: null,
    local: () => generateKeyPairSync("ed25519").privateKey,
  },
  {
    label: "ECDSA P-256",
    keyType: "ecdsa-p256",
    alg: "ecdsa-sha256",
    digest: "sha256",
    local: () => generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey,
  },
  {
    label: "RSA-2048",
    keyType: "rsa-2048",
    alg: "rsa-pkcs1-sha256",
    digest: "sha256",
    local: () => generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey,
  },
];
/** [clients, in flight per client] */
const LOADS: [number, number][] = [
  [1, 1],
  [1, 16],
  [16, 16],
];

interface Row {
  label: string;
  clients: number;
  inFlight: number;
  opsPerSecond: number;
  baseline: number;
  applianceCpu: number;
}

export const signBench: Bench = {
  name: "sign",
  description: "signatures/s (Ed25519, ECDSA P-256, RSA-2048): appliance vs in-process node:crypto",
  async run(ctx): Promise<BenchReport> {
    const app = await ctx.appliance();
    const pid = app.proc!.pid;
    const clients: VhsmClient[] = [await app.setupClient("bench-sign", "signer", "signer-pin-1")];
    for (let i = 1; i < 16; i++) clients.push(await app.client("bench-sign", "signer", "signer-pin-1"));
    const message = randomBytes(32);
    const best = new Map<string, Row>();
    try {
      const prepared = [];
      for (const a of ALGORITHMS) {
        const keyId = await clients[0]!.keys.generate({ type: a.keyType });
        const pem = (await clients[0]!.keys.publicKey(keyId)).data;
        const { signature } = await clients[0]!.sign(keyId, message, { alg: a.alg });
        if (!verify(a.digest, message, createPublicKey(pem), signature)) {
          throw new Error(`${a.label}: the appliance's signature does not verify with node:crypto`);
        }
        prepared.push({ a, keyId, local: a.local() });
      }
      for (let round = 1; round <= ctx.rounds; round++) {
        for (const { a, keyId, local } of prepared) {
          const base = measureSync(() => sign(a.digest, message, local), ctx.window);
          for (const [n, inFlight] of LOADS) {
            const t = await measureAsync(
              clients.slice(0, n),
              inFlight,
              (c) => c.sign(keyId, message, { alg: a.alg }),
              ctx.window,
              pid,
            );
            const id = `${a.label}/${n}/${inFlight}`;
            const prev = best.get(id);
            best.set(id, {
              label: a.label,
              clients: n,
              inFlight,
              opsPerSecond: Math.max(prev?.opsPerSecond ?? 0, t.opsPerSecond),
              baseline: Math.max(prev?.baseline ?? 0, base.opsPerSecond),
              applianceCpu:
                t.opsPerSecond >= (prev?.opsPerSecond ?? 0) ? (t.cpu?.appliance ?? 0) : prev!.applianceCpu,
            });
            ctx.progress.line(
              `round ${round}: ${a.label}, ${n} client(s) × ${inFlight} in flight: ${fmtInt(t.opsPerSecond)}/s ` +
                `(in-process ${fmtInt(base.opsPerSecond)}/s, ${fmtRatio(t.opsPerSecond / base.opsPerSecond)})`,
            );
          }
        }
      }
    } finally {
      for (const c of clients) c.close();
    }
    const rows = [...best.values()];
    const table = markdownTable(
      [
        "key",
        "clients",
        "in flight",
        "signatures/s",
        "in-process/s",
        "ratio",
        "appliance CPU µs per signature",
      ],
      rows.map((r) => [
        r.label,
        String(r.clients),
        String(r.inFlight),
        fmtInt(r.opsPerSecond),
        fmtInt(r.baseline),
        fmtRatio(r.opsPerSecond / r.baseline),
        fmtFixed((r.applianceCpu / r.opsPerSecond) * 1e6),
      ]),
    );
    const chart = barChart({
      title: "Signatures/s: vhsm vs in-process node:crypto",
      xLabel: "key type",
      yLabel: "signatures/s",
      categories: ALGORITHMS.map((a) => a.label),
      series: [
        {
          name: "in-process (1 thread)",
          values: ALGORITHMS.map((a) => rows.find((r) => r.label === a.label)!.baseline),
        },
        ...LOADS.map(([n, f]) => ({
          name: `vhsm, ${n} client${n > 1 ? "s" : ""} × ${f}`,
          values: ALGORITHMS.map(
            (a) => rows.find((r) => r.label === a.label && r.clients === n && r.inFlight === f)!.opsPerSecond,
          ),
        })),
      ],
    });
    const note =
      "32-byte messages; each appliance signature was verified with node:crypto against the exported public key before timing.";
    return { markdown: `${table}\n\n${note}`, plots: [{ file: "sign.svg", svg: chart }], data: rows };
  },
};
