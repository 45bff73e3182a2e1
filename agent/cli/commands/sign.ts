/** `vhsm sign` and `vhsm verify`: one request each, so the message (or digest) is at most one frame. */
import { exactArgs, hexOption } from "../args.ts";
import { requiredOption, signOptions, versionOption } from "../crypto-args.ts";
import { Exit, usageError } from "../errors.ts";
import { emitBytes } from "../output.ts";
import { checkFits, rawOrHex, readWhole } from "../whole-input.ts";
import type { Command } from "./command.ts";

const TOO_BIG =
  "hash it first and sign the digest: `vhsm digest --alg sha256 --in FILE | vhsm sign --key ID --prehashed`";

/** Largest signature file read (an RSA-4096 signature is 512 bytes, its hex 1 KiB). */
const MAX_SIGNATURE = 64 * 1024;

/** The message, or with --prehashed the digest, which may also be given as hex (`vhsm digest` prints it). */
async function readMessage(path: string | undefined, command: string, prehashed: boolean): Promise<Buffer> {
  const data = await readWhole(path, command, TOO_BIG);
  return prehashed ? rawOrHex(data) : data;
}

export const sign: Command = {
  words: ["sign"],
  args: [],
  options: ["key", "alg", "prehashed", "raw-ecdsa", "in", "out"],
  synopsis: "--key ID [--alg ALG] [--prehashed] [--raw-ecdsa] [--in FILE] [--out FILE]",
  summary: "sign FILE (or stdin, ≤ 16 MiB), or a digest with --prehashed; hex signature, raw with --out",
  async run(ctx) {
    exactArgs(ctx.args, [], "sign");
    const key = requiredOption(ctx.values.key, "--key ID", "sign");
    const options = signOptions(ctx.values);
    const data = await readMessage(ctx.values.in, "sign", options.prehashed === true);
    const client = await ctx.connect();
    checkFits(client, "sign", data.length, TOO_BIG);
    const { signature, version } = await client.sign(key, data, options);
    await emitBytes(ctx.out, ctx.values.out, "signature", signature, { version });
    return Exit.OK;
  },
};

export const verify: Command = {
  words: ["verify"],
  args: [],
  options: ["key", "sig", "sig-hex", "version", "alg", "prehashed", "raw-ecdsa", "in"],
  synopsis:
    "--key ID (--sig FILE | --sig-hex HEX) [--version N] [--alg ALG] [--prehashed] [--raw-ecdsa] [--in FILE]",
  summary: "check a signature over FILE (or stdin) inside the appliance: exit 0 if valid, 1 if not",
  async run(ctx) {
    exactArgs(ctx.args, [], "verify");
    const key = requiredOption(ctx.values.key, "--key ID", "verify");
    const options = signOptions(ctx.values);
    const version = versionOption(ctx.values.version);
    const { sig, "sig-hex": sigHex } = ctx.values;
    if ((sig === undefined) === (sigHex === undefined)) {
      throw usageError("`vhsm verify` needs the signature: either --sig FILE or --sig-hex HEX");
    }
    if (sig === "-" && (ctx.values.in === undefined || ctx.values.in === "-")) {
      throw usageError(
        "the signature and the data cannot both come from stdin",
        "give --in FILE or --sig FILE",
      );
    }
    const signature =
      sigHex !== undefined
        ? hexOption(sigHex, "--sig-hex")
        : rawOrHex(
            await readWhole(sig, "verify", "a signature is at most a few hundred bytes", MAX_SIGNATURE),
          );
    const data = await readMessage(ctx.values.in, "verify", options.prehashed === true);
    const client = await ctx.connect();
    checkFits(client, "verify", data.length + signature.length, TOO_BIG);
    const valid = await client.verify(key, data, signature, { ...options, version });
    if (ctx.json) await ctx.out.result({ key, valid }, null);
    else if (valid) await ctx.out.result({}, "OK");
    else
      process.stderr.write(
        "vhsm: MISMATCH: the signature does not match the data\nhint: the data, the key, the key version or the algorithm differs from the one that signed\n",
      );
    return valid ? Exit.OK : Exit.MISMATCH;
  },
};
