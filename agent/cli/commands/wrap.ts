/** `vhsm wrap` and `vhsm unwrap`: move an exportable key out and in under an AES-256 wrapping key. */
import { keyTypeName } from "../../src/names.ts";
import { exactArgs } from "../args.ts";
import { keyTypeOption, requiredOption } from "../crypto-args.ts";
import { Exit } from "../errors.ts";
import { emitBytes } from "../output.ts";
import { rawOrHex, readWhole } from "../whole-input.ts";
import type { Command } from "./command.ts";
import { policyOptions } from "./key.ts";

/** A wrapped RSA-4096 key is ~2.4 KB (its hex twice that); anything far larger is not a wrapped key. */
const MAX_WRAPPED = 64 * 1024;

export const wrap: Command = {
  words: ["wrap"],
  args: [],
  options: ["key", "wrapping-key", "out"],
  synopsis: "--key ID --wrapping-key ID [--out FILE]",
  summary: "export an exportable key wrapped (AES-KWP) under an AES-256 key; hex, raw with --out",
  async run(ctx) {
    exactArgs(ctx.args, [], "wrap");
    const key = requiredOption(ctx.values.key, "--key ID", "wrap");
    const wrappingKey = requiredOption(ctx.values["wrapping-key"], "--wrapping-key ID", "wrap");
    const client = await ctx.connect();
    const { wrapped, type, bits } = await client.wrap(key, wrappingKey);
    await emitBytes(ctx.out, ctx.values.out, "wrapped", wrapped, { type: keyTypeName(type, bits), bits });
    return Exit.OK;
  },
};

export const unwrap: Command = {
  words: ["unwrap"],
  args: [],
  options: ["wrapping-key", "type", "id", "usage", "exportable", "in"],
  synopsis: "--wrapping-key ID --type TYPE [--id ID] [--usage U,...] [--exportable] [--in FILE]",
  summary: "import a wrapped key from FILE (or stdin; raw or hex) as a new key; prints its id",
  async run(ctx) {
    exactArgs(ctx.args, [], "unwrap");
    const wrappingKey = requiredOption(ctx.values["wrapping-key"], "--wrapping-key ID", "unwrap");
    const type = keyTypeOption(ctx.values.type);
    const policy = policyOptions(ctx);
    const wrapped = rawOrHex(
      await readWhole(ctx.values.in, "unwrap", "give the output of `vhsm wrap`", MAX_WRAPPED),
    );
    const client = await ctx.connect();
    const id = await client.unwrap(wrappingKey, wrapped, { type, ...policy });
    await ctx.out.result({ id }, id);
    return Exit.OK;
  },
};
