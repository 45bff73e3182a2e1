/**
 * The two ways the dashboard starts: inside `serve` (foreground, reading this process's counters) and
 * as `top` (attached to a running appliance's admin socket). Without a TTY both print summary lines.
 * ink is imported only when a dashboard is actually shown, so headless appliances never load it.
 */
import type { RunningAppliance } from "../core/appliance.ts";
import { startSummaryLines } from "./headless.ts";
import { AdminSocketError, adminSocketSource, inProcessSource } from "./source.ts";

export function interactiveTerminal(): boolean {
  return Boolean(process.stdout.isTTY && process.stdin.isTTY);
}

/**
 * For `serve`: the dashboard on a TTY; quitting it, or its terminal hanging up, stops the appliance.
 * Otherwise summary lines.
 */
export async function serveDashboard(appliance: RunningAppliance, headless: boolean): Promise<void> {
  const source = inProcessSource(appliance.actions);
  if (headless || !interactiveTerminal()) {
    startSummaryLines(source, (line) => process.stderr.write(`${line}\n`));
    return;
  }
  // the dashboard owns the terminal: log lines stay in memory and show in the events panel
  appliance.log.setSink(null);
  const { runDashboard } = await import("./live.tsx");
  const end = await runDashboard(source, "foreground");
  if (end === "hangup") {
    // the terminal is gone, and with it the operator's only view and control of this foreground
    // appliance: stop as on a confirmed quit (the audit log records it); nothing is left to print to
    appliance.log.warn("the dashboard's terminal hung up; stopping the appliance");
  } else {
    appliance.log.setSink((line) => process.stderr.write(`${line}\n`));
  }
  await appliance.stop();
  process.exit(0);
}

/** For `top`: attach to a running appliance; quitting (or a hang-up) leaves it serving. */
export async function top(adminSocket: string, intervalMs?: number): Promise<void> {
  const source = adminSocketSource(adminSocket);
  try {
    await source.stats();
  } catch (err) {
    const message = err instanceof AdminSocketError ? err.message : String(err);
    process.stderr.write(`vhsm-appliance top: ${message}\n`);
    process.exit(1);
  }
  if (!interactiveTerminal()) {
    startSummaryLines(source, (line) => process.stdout.write(`${line}\n`), intervalMs);
    await new Promise(() => {}); // until SIGINT/SIGTERM
    return;
  }
  const { runDashboard } = await import("./live.tsx");
  await runDashboard(source, "attached");
  process.exit(0);
}
