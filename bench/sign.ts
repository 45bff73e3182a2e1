/**
 * Signatures per second (Ed25519, ECDSA P-256, RSA-2048; 32-byte messages) through the appliance,
 * against the in-process ceilings (node:crypto, one thread; `openssl speed -multi 2`) and the peer
 * users run today, SoftHSM2 through PKCS#11 in-process and behind `p11-kit server` (issue 9). All in
 * one run; every figure is the best of interleaved rounds, as in the hmac bench. Each system's
 * signatures are checked with node:crypto against the public key before they count.
 */
import { createHash, createPublicKey, type KeyObject, randomBytes, sign, verify } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { VhsmClient } from "../agent/index.ts";
import type { Bench, BenchContext, BenchReport } from "./lib/context.ts";
import type { FleetResult } from "./lib/fleet.ts";
import { fmtFixed, fmtInt } from "./lib/format.ts";
import { measureAsync, measureSync } from "./lib/load.ts";
import { opensslSpeed } from "./lib/openssl-speed.ts";
import { SoftHsmPeer, softhsmUnavailable } from "./lib/softhsm.ts";
import { buildCDriver, cFleet, type Login, tsFleet } from "./lib/vhsm-fleet.ts";
import { type Figures, signReport } from "./sign-report.ts";
import {
  ALGORITHMS,
  type Algorithm,
  C_PIPELINED,
  C_PROCESSES,
  IN_PROCESS_LOADS,
  PEER_PROCESSES,
  TS_FLEET,
} from "./sign-systems.ts";

const LOGIN = { user: "signer", pin: "signer-pin-1" };

function checkSignature(a: Algorithm, message: Buffer, key: KeyObject, signature: Buffer, who: string): void {
  if (!verify(a.digest, message, key, signature))
    throw new Error(`${a.label}: the signature from ${who} does not verify with node:crypto`);
}

/** Starts what can run; a part that cannot is skipped with its reason in the notes. */
async function prepare(ctx: BenchContext, dir: string, notes: string[]) {
  let cDriver: string | null = null;
  try {
    cDriver = buildCDriver(dir);
  } catch (e) {
    notes.push(`vhsm C client skipped: ${(e as Error).message.split("\n")[0]}`);
  }
  let peer: SoftHsmPeer | null = null;
  const missing = softhsmUnavailable();
  if (missing) notes.push(`SoftHSM2 skipped: ${missing}.`);
  else peer = await SoftHsmPeer.create(dir);
  ctx.progress.line(`SoftHSM2: ${peer ? "token ready, p11-kit server up" : missing}`);
  return { cDriver, peer };
}

export const signBench: Bench = {
  name: "sign",
  description:
    "signatures/s (Ed25519, ECDSA P-256, RSA-2048): vhsm vs in-process crypto and SoftHSM2 (PKCS#11)",
  async run(ctx): Promise<BenchReport> {
    const app = await ctx.appliance();
    const pid = app.proc!.pid;
    const clients: VhsmClient[] = [await app.setupClient("bench-sign", LOGIN.user, LOGIN.pin)];
    for (let i = 1; i < 16; i++) clients.push(await app.client("bench-sign", LOGIN.user, LOGIN.pin));
    const login: Login = { socket: app.socketOf("bench-sign"), ...LOGIN };
    const message = randomBytes(32);
    const digest = createHash("sha256").update(message).digest();
    const dir = mkdtempSync(join(tmpdir(), "vhsm-bench-sign-"));
    const notes: string[] = [];
    const figures: Figures = {};
    const record = (
      a: Algorithm,
      system: string,
      r: FleetResult | { opsPerSecond: number; watchedCpu?: number; clientCpu?: number },
    ) => {
      figures[a.label] ??= {};
      const row = figures[a.label]!;
      const prev = row[system];
      const error = "error" in r ? r.error : undefined;
      if (!prev || (!error && r.opsPerSecond > prev.opsPerSecond))
        row[system] = { opsPerSecond: r.opsPerSecond, applianceCpu: r.watchedCpu, error };
      // CPU per signature, where measured: what each side pays, whatever else the machine is doing
      const perOp = (share: number | undefined, who: string) =>
        share && r.opsPerSecond ? `, ${who} ${fmtFixed((share / r.opsPerSecond) * 1e6)} µs` : "";
      ctx.progress.line(
        `${a.label}, ${system}: ${error ? `fails (${error})` : `${fmtInt(r.opsPerSecond)}/s`}` +
          perOp(r.watchedCpu, "appliance") +
          perOp(r.clientCpu, "client"),
      );
    };
    const { cDriver, peer } = await prepare(ctx, dir, notes);
    try {
      const prepared = [];
      for (const a of ALGORITHMS) {
        const keyId = await clients[0]!.keys.generate({ type: a.keyType });
        const publicKey = createPublicKey((await clients[0]!.keys.publicKey(keyId)).data);
        const { signature } = await clients[0]!.sign(keyId, message, { alg: a.alg });
        checkSignature(a, message, publicKey, signature, "the appliance");
        prepared.push({ a, keyId, publicKey, local: a.local() });
      }
      for (let round = 1; round <= ctx.rounds; round++) {
        ctx.progress.line(
          `round ${round} of ${ctx.rounds}: openssl speed -multi 2 (sign and verify, 1 s each)`,
        );
        // in every round, like the other figures: a burst of load elsewhere then spoils only one
        const speeds = opensslSpeed(
          ALGORITHMS.map((a) => a.speed),
          2,
          1,
        );
        for (const a of ALGORITHMS) record(a, "openssl", { opsPerSecond: speeds[a.speed] ?? 0 });
        for (const { a, keyId, publicKey, local } of prepared) {
          record(
            a,
            "node",
            measureSync(() => sign(a.digest, message, local), ctx.window),
          );
          for (const [n, inFlight] of IN_PROCESS_LOADS) {
            const t = await measureAsync(
              clients.slice(0, n),
              inFlight,
              (c) => c.sign(keyId, message, { alg: a.alg }),
              ctx.window,
              pid,
            );
            record(a, `vhsm-ts-${n}x${inFlight}`, {
              opsPerSecond: t.opsPerSecond,
              watchedCpu: t.cpu?.appliance,
              clientCpu: t.cpu?.client,
            });
          }
          const ts = await tsFleet(login, TS_FLEET, keyId, a.alg, message, ctx.window, pid);
          if (ts.signature) checkSignature(a, message, publicKey, ts.signature, "a TS agent process");
          record(a, "vhsm-ts-fleet", ts);
          if (cDriver) {
            const shapes: [string, number, number][] = [
              ["vhsm-c", C_PROCESSES, 1],
              ...C_PIPELINED.processes.map((p): [string, number, number] => [
                `vhsm-c-${p}x${C_PIPELINED.inFlight}`,
                p,
                C_PIPELINED.inFlight,
              ]),
            ];
            for (const [system, processes, inFlight] of shapes) {
              const job = { keyId, cAlg: a.cAlg, inFlight, message };
              const c = await cFleet(cDriver, login, processes, job, ctx.window, pid);
              for (const s of c.outputs ?? []) checkSignature(a, message, publicKey, s, "libvhsm");
              record(a, system, c);
            }
          }
          for (const p of peer ? PEER_PROCESSES : []) {
            record(a, `softhsm-${p}p`, await peer!.measure(a.p11, message, digest, p, false, ctx.window));
            record(a, `p11kit-${p}p`, await peer!.measure(a.p11, message, digest, p, true, ctx.window));
          }
        }
      }
    } finally {
      for (const c of clients) c.close();
      await peer?.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
    return signReport(figures, notes, ctx.rounds, ctx.window);
  },
};
