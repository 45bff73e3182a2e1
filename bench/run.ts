/**
 * Runs benches and records their latest figures.
 *   bun bench/run.ts [name...] [--quick] [--compiled] [--no-write] [--rounds=N]
 * With no names, runs them all; --rounds sets the rounds per measurement (default 5, the best one
 * kept). Figures go to stdout, progress to stderr; each bench's section of bench/RESULTS.md, its
 * plots (bench/plots/) and raw data (bench/results/) are rewritten unless --quick or --no-write is
 * given. System packages the benches use (SoftHSM2 and p11-kit for the sign bench's peer, tmux for the
 * dashboard bench) are installed first when missing, as `npm test` does (scripts/ensure-system-
 * packages.sh: with apt as root; otherwise it names them, and the benches that need them say so).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BENCHES } from "./benches.ts";
import { BenchContext } from "./lib/context.ts";
import { codeVersion, machineDescription } from "./lib/machine.ts";
import { Progress } from "./lib/progress.ts";
import { updateResultsFile } from "./lib/results-file.ts";

const DIR = import.meta.dir;
const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith("--")));
const names = args.filter((a) => !a.startsWith("--"));

if (flags.has("--help")) {
  console.log(
    "usage: bun bench/run.ts [name...] [--quick] [--compiled] [--no-write] [--rounds=N]\n\nbenches:",
  );
  for (const b of BENCHES) console.log(`  ${b.name.padEnd(12)} ${b.description}`);
  process.exit(0);
}
const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
if (unknown.length) {
  console.error(`unknown bench: ${unknown.join(", ")} (have: ${BENCHES.map((b) => b.name).join(", ")})`);
  process.exit(2);
}

const roundsFlag = [...flags].find((f) => f.startsWith("--rounds="));
const rounds = roundsFlag ? Number(roundsFlag.slice("--rounds=".length)) : undefined;
if (rounds !== undefined && !(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20)) {
  console.error(`--rounds: expected a whole number 1..20, got ${roundsFlag!.slice("--rounds=".length)}`);
  process.exit(2);
}
const options = { quick: flags.has("--quick"), compiled: flags.has("--compiled"), rounds };
const write = !options.quick && !flags.has("--no-write");
const selected = names.length ? BENCHES.filter((b) => names.includes(b.name)) : BENCHES;
const command = ["bun bench/run.ts", ...args].join(" ");
const machine = machineDescription();
const root = new BenchContext(options, new Progress("bench"));

root.progress.line(`${machine}; running ${selected.map((b) => b.name).join(", ")}`);
const packages = Bun.spawnSync(["bash", join(DIR, "..", "scripts", "ensure-system-packages.sh")], {
  stdout: "pipe",
  stderr: "pipe",
});
for (const line of `${packages.stdout}${packages.stderr}`.split("\n").filter(Boolean))
  root.progress.line(line);
try {
  for (const bench of selected) {
    const ctx = root.forBench(bench.name);
    ctx.progress.line(`start: ${bench.description}`);
    const report = await bench.run(ctx);
    const when = new Date().toISOString().slice(0, 16).replace("T", " ");
    const plots = (report.plots ?? []).map((p) => `![${p.file}](plots/${p.file})`).join("\n");
    const appliance = options.compiled ? "compiled `dist/vhsm-appliance`" : "`bun appliance/main.ts`";
    const section = [
      `## ${bench.name}: ${bench.description}`,
      `\`${command}\` — ${when} UTC — ${codeVersion(DIR)} — ${machine} — appliance: ${appliance}`,
      report.markdown,
      plots,
    ]
      .filter(Boolean)
      .join("\n\n");
    console.log(`\n${section}\n`);
    if (write) {
      mkdirSync(join(DIR, "plots"), { recursive: true });
      mkdirSync(join(DIR, "results"), { recursive: true });
      for (const p of report.plots ?? []) writeFileSync(join(DIR, "plots", p.file), p.svg);
      writeFileSync(
        join(DIR, "results", `${bench.name}.json`),
        `${JSON.stringify({ command, when, machine, data: report.data }, null, 2)}\n`,
      );
      updateResultsFile(join(DIR, "RESULTS.md"), bench.name, section);
    }
    ctx.progress.line("done");
  }
} finally {
  await root.dispose();
}
root.progress.line(`finished in ${root.progress.elapsedSeconds.toFixed(0)} s`);
