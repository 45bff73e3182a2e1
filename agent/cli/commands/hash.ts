/** `vhsm hmac` and `vhsm digest`: data from --in FILE or stdin, streamed when it is large. */
import { timingSafeEqual } from "node:crypto";
import { exactArgs, hashLength, hashOption, hexOption } from "../args.ts";
import type { Context } from "../context.ts";
import { Exit, usageError } from "../errors.ts";
import { feed } from "../feed.ts";
import { type Input, openInput } from "../input.ts";
import { emitBytes } from "../output.ts";
import type { Command } from "./command.ts";

async function connectOrClose(ctx: Context, input: Input) {
  try {
    return await ctx.connect();
  } catch (err) {
    await input.close();
    throw err;
  }
}

/** Largest data per request that the appliance accepts next to the other fields. */
const chunkLimit = (maxFrame: number) => Math.max(1024, maxFrame - 1024);

export const hmac: Command = {
  words: ["hmac"],
  args: [],
  options: ["key", "alg", "in", "out", "verify"],
  synopsis: "--key ID --alg sha1|sha256|sha384|sha512 [--in FILE] [--out FILE] [--verify HEX]",
  summary: "HMAC of FILE (or stdin) with a stored key; --verify checks a MAC instead (exit 1 if wrong)",
  async run(ctx) {
    exactArgs(ctx.args, [], "hmac");
    const key = ctx.values.key;
    if (!key) throw usageError("`vhsm hmac` needs --key ID");
    const alg = hashOption(ctx.values.alg, "hmac");
    let expected: Buffer | null = null;
    if (ctx.values.verify !== undefined) {
      if (ctx.values.out !== undefined) throw usageError("--out and --verify do not go together");
      expected = hexOption(ctx.values.verify, "--verify");
      if (expected.length !== hashLength(alg)) {
        throw usageError(
          `--verify needs a ${alg} MAC of ${hashLength(alg)} bytes (${2 * hashLength(alg)} hex digits); got ${expected.length} bytes`,
        );
      }
    }
    const input = await openInput(ctx.values.in);
    const client = await connectOrClose(ctx, input);
    const fed = await feed(input, chunkLimit(client.maxFrame), () => client.hmacInit(key, alg));

    if (expected === null) {
      const mac = fed.kind === "whole" ? await client.hmac(key, alg, fed.data) : fed.result;
      await emitBytes(ctx.out, ctx.values.out, "mac", mac, { key, alg });
      return Exit.OK;
    }
    // small inputs are checked inside the appliance; streamed ones by comparing the final MAC here
    const valid =
      fed.kind === "whole"
        ? await client.hmacVerify(key, alg, fed.data, expected)
        : timingSafeEqual(fed.result, expected);
    if (ctx.json) await ctx.out.result({ key, alg, valid }, null);
    else if (valid) await ctx.out.result({}, "OK");
    else
      process.stderr.write(
        "vhsm: MISMATCH: the MAC does not match the data\nhint: the data, the key or the MAC differs from the one that made it\n",
      );
    return valid ? Exit.OK : Exit.MISMATCH;
  },
};

export const digest: Command = {
  words: ["digest"],
  args: [],
  options: ["alg", "in", "out"],
  synopsis: "--alg sha1|sha256|sha384|sha512 [--in FILE] [--out FILE]",
  summary: "hash FILE (or stdin) inside the appliance",
  async run(ctx) {
    exactArgs(ctx.args, [], "digest");
    const alg = hashOption(ctx.values.alg, "digest");
    const input = await openInput(ctx.values.in);
    const client = await connectOrClose(ctx, input);
    const fed = await feed(input, chunkLimit(client.maxFrame), () => client.digestInit(alg));
    const result = fed.kind === "whole" ? await client.digest(alg, fed.data) : fed.result;
    await emitBytes(ctx.out, ctx.values.out, "digest", result, { alg });
    return Exit.OK;
  },
};
