import { expect, test } from "bun:test";
import { spawnSync } from "bun";
import { allowedCpus, pinnedCommand, pinTarget, withThisProcessOn } from "./cpu-pin.ts";

const cpu = pinTarget();

test.skipIf(cpu === null)("a pinned command runs on that CPU only", () => {
  const out = spawnSync(pinnedCommand(["grep", "Cpus_allowed_list", "/proc/self/status"], cpu!));
  expect(out.stdout.toString().split(":")[1]!.trim()).toBe(String(cpu));
});

test.skipIf(cpu === null)(
  "this process is pinned inside the callback and given its CPUs back after",
  async () => {
    const before = allowedCpus(process.pid);
    expect(before).not.toBe(String(cpu));
    const inside = await withThisProcessOn(cpu!, async () => allowedCpus(process.pid));
    expect(inside).toBe(String(cpu));
    expect(allowedCpus(process.pid)).toBe(before);
    await expect(withThisProcessOn(cpu!, async () => Promise.reject(new Error("x")))).rejects.toThrow("x");
    expect(allowedCpus(process.pid)).toBe(before);
  },
);
