/**
 * `vhsm encrypt` and `vhsm decrypt`: AES-256-GCM (or RSA-OAEP) inside the appliance, one request
 * each. Plaintext is zeroed here once it has been sent or written.
 */
import { exactArgs, hexOption } from "../args.ts";
import type { Context } from "../context.ts";
import { requiredOption } from "../crypto-args.ts";
import { Exit } from "../errors.ts";
import { emitBytes } from "../output.ts";
import { checkFits, rawOrHex, readWhole } from "../whole-input.ts";
import type { Command } from "./command.ts";

const TOO_BIG =
  "encrypt a data key with the appliance instead, and the data locally with that key (envelope encryption)";

function aadOption(ctx: Context): Buffer | undefined {
  return ctx.values.aad === undefined ? undefined : hexOption(ctx.values.aad, "--aad");
}

export const encrypt: Command = {
  words: ["encrypt"],
  args: [],
  options: ["key", "aad", "in", "out"],
  synopsis: "--key ID [--aad HEX] [--in FILE] [--out FILE]",
  summary: "encrypt FILE (or stdin, ≤ 16 MiB); ciphertext in hex, raw with --out",
  async run(ctx) {
    exactArgs(ctx.args, [], "encrypt");
    const key = requiredOption(ctx.values.key, "--key ID", "encrypt");
    const aad = aadOption(ctx);
    const plaintext = await readWhole(ctx.values.in, "encrypt", TOO_BIG);
    try {
      const client = await ctx.connect();
      checkFits(client, "encrypt", plaintext.length + (aad?.length ?? 0), TOO_BIG);
      const { ciphertext, version } = await client.encrypt(key, plaintext, { aad });
      await emitBytes(ctx.out, ctx.values.out, "ciphertext", ciphertext, { version });
    } finally {
      plaintext.fill(0);
    }
    return Exit.OK;
  },
};

export const decrypt: Command = {
  words: ["decrypt"],
  args: [],
  options: ["key", "aad", "in", "out"],
  synopsis: "--key ID [--aad HEX] [--in FILE] [--out FILE]",
  summary: "decrypt FILE (or stdin; raw or hex); plaintext in hex, raw with --out",
  async run(ctx) {
    exactArgs(ctx.args, [], "decrypt");
    const key = requiredOption(ctx.values.key, "--key ID", "decrypt");
    const aad = aadOption(ctx);
    // a 16 MiB plaintext's ciphertext is 32 bytes longer, and its hex twice that
    const input = await readWhole(ctx.values.in, "decrypt", TOO_BIG, 2 * (16 * 1024 * 1024 + 64) + 2);
    const ciphertext = rawOrHex(input);
    const client = await ctx.connect();
    checkFits(client, "decrypt", ciphertext.length + (aad?.length ?? 0), TOO_BIG);
    const plaintext = await client.decrypt(key, ciphertext, { aad });
    try {
      await emitBytes(ctx.out, ctx.values.out, "plaintext", plaintext, {});
    } finally {
      plaintext.fill(0);
    }
    return Exit.OK;
  },
};
