/** Runs one CLI invocation: parse, pick the command, run it, turn any failure into a report. */
import { type Parsed, parse, rejectOptions, wantsJson } from "./args.ts";
import { helpText } from "./commands/help.ts";
import { COMMANDS, findCommand } from "./commands/index.ts";
import { Context, socketPath } from "./context.ts";
import { Exit, formatJson, formatText, reportOf, usageError } from "./errors.ts";
import { Output, writeStdout } from "./output.ts";

/** Resolves to the process exit code. */
export async function run(argv: string[]): Promise<number> {
  const json = wantsJson(argv);
  let parsed: Parsed | null = null;
  let ctx: Context | null = null;
  try {
    parsed = parse(argv);
    const out = new Output(json);
    if (parsed.values.help || parsed.positionals[0] === "help") {
      const text = helpText(COMMANDS);
      await out.result({ help: text }, text);
      return Exit.OK;
    }
    if (parsed.positionals.length === 0) throw usageError("no command given");
    const { command, args } = findCommand(parsed.positionals);
    rejectOptions(parsed, command.options, command.words.join(" "));
    ctx = new Context(parsed, args, out);
    return await command.run(ctx);
  } catch (err) {
    const report = reportOf(err, socketPath(parsed));
    if (json) await writeStdout(formatJson(report));
    else process.stderr.write(formatText(report));
    return report.exit;
  } finally {
    ctx?.close();
  }
}
