/** `vhsm random N`: N bytes from the appliance's CSPRNG, fetched in pieces and written as they come. */
import { exactArgs, integerOption } from "../args.ts";
import { Exit } from "../errors.ts";
import { RawFile, writeStdout } from "../output.ts";
import type { Command } from "./command.ts";

/** Bytes per RANDOM request: far below the appliance's per-request limit (1 MiB by default). */
const PIECE = 64 * 1024;
const IN_FLIGHT = 8;

export const random: Command = {
  words: ["random"],
  args: ["N"],
  options: ["out"],
  synopsis: "[--out FILE]",
  summary: "N random bytes from the appliance, as hex (raw with --out)",
  async run(ctx) {
    exactArgs(ctx.args, ["N"], "random");
    const length = integerOption(ctx.args[0]!, "N", 1, Number.MAX_SAFE_INTEGER);
    const client = await ctx.connect();
    const file = ctx.values.out === undefined ? null : await RawFile.create(ctx.values.out);
    const hex: string[] = [];
    const sink = async (bytes: Buffer) => {
      if (file) await file.write(bytes);
      else if (ctx.json) hex.push(bytes.toString("hex"));
      else await writeStdout(bytes.toString("hex"));
    };
    try {
      const pending: Promise<Buffer>[] = [];
      for (let left = length; left > 0; left -= PIECE) {
        const p = client.random(Math.min(PIECE, left));
        p.catch(() => {}); // awaited in order below; this only marks an early failure as handled
        pending.push(p);
        if (pending.length >= IN_FLIGHT) await sink(await pending.shift()!);
      }
      while (pending.length > 0) await sink(await pending.shift()!);
    } finally {
      await file?.close();
    }
    if (ctx.json) {
      const out = ctx.values.out;
      await ctx.out.result({ length, ...(out === undefined ? { random: hex.join("") } : { out }) }, null);
    } else if (!file) await writeStdout("\n");
    return Exit.OK;
  },
};
