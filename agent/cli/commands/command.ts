/** The shape of one CLI command; the table of them is in index.ts. */
import type { OptionName } from "../args.ts";
import type { Context } from "../context.ts";

export interface Command {
  /** The words that select it: ["key", "generate"]. */
  words: string[];
  /** Names of its positional arguments, shown in usage: ["ID"]. */
  args: string[];
  /** The options it takes besides the global ones. */
  options: OptionName[];
  /** Its options as shown in usage: "--key ID --alg ALG [--in FILE]". */
  synopsis: string;
  summary: string;
  /** Runs it; resolves to the exit code. */
  run(ctx: Context): Promise<number>;
}

export const usageLine = (c: Command): string =>
  ["vhsm", ...c.words, ...c.args, c.synopsis].filter(Boolean).join(" ");
