/** Prints the top self-time functions of a .cpuprofile: `bun bench/profile-summary.ts FILE [N]`. */
import { topSelfTime } from "./lib/cpuprofile.ts";

const [file, n] = process.argv.slice(2);
if (!file) {
  console.error("usage: bun bench/profile-summary.ts FILE.cpuprofile [N]");
  process.exit(2);
}
for (const h of topSelfTime(file, Number(n ?? 20)))
  console.log(`${(h.share * 100).toFixed(1).padStart(6)}%  ${h.name}`);
