/**
 * Timed load: every measurement runs for a fixed wall-clock window after a warm-up, so a run's
 * length is bounded whatever the speed. Operations in flight when the window closes are not counted.
 */

import { type CpuShare, cpuMeter } from "./cpu.ts";

export interface Throughput {
  ops: number;
  seconds: number;
  opsPerSecond: number;
}

export interface AsyncThroughput extends Throughput {
  /** CPU used during the window, when the appliance's pid was given. */
  cpu?: CpuShare;
}

/** Runs a synchronous operation in a loop on this thread: the in-process baseline. */
export function measureSync(op: () => void, seconds: number, warmSeconds = 0.2): Throughput {
  const warmEnd = performance.now() + warmSeconds * 1000;
  while (performance.now() < warmEnd) op();
  let ops = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    // check the clock every few ops: performance.now() is not free next to a 4 KiB HMAC
    for (let i = 0; i < 16; i++) op();
    ops += 16;
    now = performance.now();
  }
  const elapsed = (now - start) / 1000;
  return { ops, seconds: elapsed, opsPerSecond: ops / elapsed };
}

/**
 * Drives `inFlight` concurrent loops per client, each awaiting `op(client)` back to back, so each
 * client keeps exactly `inFlight` requests outstanding.
 */
export async function measureAsync<C>(
  clients: C[],
  inFlight: number,
  op: (client: C) => Promise<unknown>,
  seconds: number,
  appliancePid?: number,
  warmSeconds = 0.15,
): Promise<AsyncThroughput> {
  let counting = false;
  let stopped = false;
  let ops = 0;
  const loop = async (client: C) => {
    while (!stopped) {
      await op(client);
      if (counting && !stopped) ops++;
    }
  };
  const loops = clients.flatMap((c) => Array.from({ length: inFlight }, () => loop(c)));
  await Bun.sleep(warmSeconds * 1000);
  counting = true;
  const meter = appliancePid === undefined ? null : cpuMeter(appliancePid);
  const start = performance.now();
  await Bun.sleep(seconds * 1000);
  stopped = true;
  const elapsed = (performance.now() - start) / 1000;
  const cpu = meter?.();
  await Promise.all(loops);
  return { ops, seconds: elapsed, opsPerSecond: ops / elapsed, cpu };
}
