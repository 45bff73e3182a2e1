/**
 * The hash workers run at a lower scheduling priority than the rest of the appliance
 * (`hashWorkerNice`, default 5), so that on a busy machine they take the cores' spare time rather
 * than the main thread's, which feeds them. Only they are lowered: the main thread and the signing
 * worker keep the appliance's own priority. What this buys is measured in bench/ (RESULTS.md).
 */
import { describe, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { getPriority } from "node:os";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";

/** Every thread of `pid`: its name and nice value (/proc/PID/task/TID/stat, field 19). */
function threads(pid: number): { tid: number; name: string; nice: number }[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      tid: Number(tid),
      name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
      nice: Number(fields[16]),
    };
  });
}

/** A 1 MiB HMAC (so a hash worker has answered, and has set its priority), checked against node:crypto. */
async function largeHmac(app: TestAppliance): Promise<void> {
  const c = await app.setupClient("prio");
  try {
    const secret = randomBytes(32);
    const data = randomBytes(1 << 20);
    await c.keys.import(secret, { id: "k" });
    const mac = await c.hmac("k", "sha256", data);
    expect(mac.equals(createHmac("sha256", secret).update(data).digest())).toBe(true);
  } finally {
    c.close();
  }
}

const base = getPriority();

describe("hash worker priority", () => {
  test("by default the two hash workers run 5 lower; the main thread and the signing worker keep the appliance's priority", async () => {
    const app = await startTestAppliance();
    try {
      await largeHmac(app);
      const pid = app.proc!.pid;
      const all = threads(pid);
      expect(all.find((t) => t.tid === pid)!.nice).toBe(base);
      const workers = all.filter((t) => t.name === "Worker");
      expect(workers.length).toBe(3); // hashWorkers 2 + signWorkers 1
      expect(workers.filter((t) => t.nice === Math.min(19, base + 5)).length).toBe(2);
      expect(workers.filter((t) => t.nice === base).length).toBe(1);
      // (a thread a hash worker starts later inherits its priority: its own heap's collector thread does)
    } finally {
      await app.dispose();
    }
  });

  test("hashWorkerNice 0 leaves every thread at the appliance's priority", async () => {
    const app = await startTestAppliance({ env: { VHSM_HASH_WORKER_NICE: "0" } });
    try {
      await largeHmac(app);
      expect(threads(app.proc!.pid).filter((t) => t.nice !== base)).toEqual([]);
    } finally {
      await app.dispose();
    }
  });

  test("a value outside 0–19 is refused at start, naming the setting", async () => {
    const app = startTestAppliance({ env: { VHSM_HASH_WORKER_NICE: "20" } });
    await expect(app).rejects.toThrow(/hashWorkerNice/);
  });
});
