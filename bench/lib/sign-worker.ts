/**
 * One client process of a multi-process sign load (spawned by bench/lib/fleet.ts): reads its job as
 * JSON on stdin (the PIN must not be on argv), opens `connections` logged-in connections with
 * `inFlight` signatures outstanding on each, warms up until `startMs` (epoch ms), counts for
 * `seconds`, and prints {"ops", "seconds", "signature"} on stdout.
 */

import type { SignAlgorithm } from "../../agent/index.ts";
import { VhsmClient } from "../../agent/index.ts";

export interface SignJob {
  socket: string;
  user: string;
  pin: string;
  keyId: string;
  /** The message to sign, hex. */
  message: string;
  alg: SignAlgorithm;
  connections: number;
  inFlight: number;
  startMs: number;
  seconds: number;
}

const job = JSON.parse(await Bun.stdin.text()) as SignJob;
const message = Buffer.from(job.message, "hex");
const clients = await Promise.all(
  Array.from({ length: job.connections }, () =>
    VhsmClient.connect({ socket: job.socket, user: job.user, pin: job.pin, reconnectTimeoutMs: 0 }),
  ),
);
const endMs = job.startMs + job.seconds * 1000;
let ops = 0;
let signature: Uint8Array = new Uint8Array(0);
const loop = async (c: VhsmClient) => {
  while (Date.now() < endMs) {
    const r = await c.sign(job.keyId, message, { alg: job.alg });
    if (Date.now() >= job.startMs) ops++;
    signature = r.signature;
  }
};
await Promise.all(clients.flatMap((c) => Array.from({ length: job.inFlight }, () => loop(c))));
for (const c of clients) c.close();
console.log(JSON.stringify({ ops, seconds: job.seconds, signature: Buffer.from(signature).toString("hex") }));
