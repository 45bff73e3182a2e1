/** What the quick A/B aids (bench/quick-hmac.ts, bench/quick-sign.ts) share. */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { topSelfTime } from "./cpuprofile.ts";

/**
 * The appliance's extra environment: APP_ENV=K=V,K=V from ours, and with `prof` a CPU profile of its
 * main thread written to `dir`.
 */
export function applianceEnv(prof: boolean, dir: string): Record<string, string> {
  const env: Record<string, string> = process.env.APP_ENV
    ? Object.fromEntries(process.env.APP_ENV.split(",").map((kv) => kv.split("=") as [string, string]))
    : {};
  if (prof) env.BUN_OPTIONS = `--cpu-prof --cpu-prof-dir=${dir}`;
  return env;
}

/** Prints the top functions by self time of the profile in `dir`, if the appliance wrote one. */
export function printProfile(dir: string, top = 30): void {
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) return;
  for (const h of topSelfTime(join(dir, file), top))
    console.log(`${(h.share * 100).toFixed(1).padStart(6)}%  ${h.name}`);
}
