/** `vhsm key public|rotate|update`: a key's public half, its versions and its (narrowing) policy. */
import { exactArgs } from "../args.ts";
import { durationOption, formatOption, requiredOption, usageOption, versionOption } from "../crypto-args.ts";
import { Exit, usageError } from "../errors.ts";
import { emitBytes, writeRawFile } from "../output.ts";
import type { Command } from "./command.ts";

const PUBLIC_FORMATS = ["pem", "der", "jwk"] as const;

export const keyPublic: Command = {
  words: ["key", "public"],
  args: [],
  options: ["key", "format", "version", "out"],
  synopsis: "--key ID [--format pem|der|jwk] [--version N] [--out FILE]",
  summary: "export the public key (newest version unless --version); DER is hex on stdout, raw with --out",
  async run(ctx) {
    exactArgs(ctx.args, [], "key public");
    const id = requiredOption(ctx.values.key, "--key ID", "key public");
    const format = formatOption(ctx.values.format ?? "pem", PUBLIC_FORMATS);
    const wanted = versionOption(ctx.values.version);
    const client = await ctx.connect();
    const { data, version } = await client.keys.publicKey(id, { format, version: wanted });
    const fields = { id, version, format };
    if (format === "der") {
      await emitBytes(ctx.out, ctx.values.out, "public", data, fields);
      return Exit.OK;
    }
    const out = ctx.values.out;
    if (out !== undefined) await writeRawFile(out, data);
    const text = data.toString("utf8");
    const value = format === "jwk" ? JSON.parse(text) : text;
    await ctx.out.result(
      { ...fields, public: value, ...(out === undefined ? {} : { out }) },
      out === undefined ? text : null,
    );
    return Exit.OK;
  },
};

export const keyRotate: Command = {
  words: ["key", "rotate"],
  args: [],
  options: ["key"],
  synopsis: "--key ID",
  summary: "add a new version of the key (new operations use it, old ones still verify/decrypt); prints it",
  async run(ctx) {
    exactArgs(ctx.args, [], "key rotate");
    const id = requiredOption(ctx.values.key, "--key ID", "key rotate");
    const version = await (await ctx.connect()).keys.rotate(id);
    await ctx.out.result({ id, version }, String(version));
    return Exit.OK;
  },
};

export const keyUpdate: Command = {
  words: ["key", "update"],
  args: [],
  options: ["key", "usage", "min-version", "rotate-every", "lock-non-exportable"],
  synopsis: "--key ID [--usage U,...] [--min-version N] [--rotate-every D|never] [--lock-non-exportable]",
  summary:
    "narrow a key's policy: fewer usages, retire versions below N, rotation period, lock non-exportable",
  async run(ctx) {
    exactArgs(ctx.args, [], "key update");
    const id = requiredOption(ctx.values.key, "--key ID", "key update");
    const rotate = ctx.values["rotate-every"];
    const changes = {
      usage: usageOption(ctx.values.usage),
      minVersion: versionOption(ctx.values["min-version"], "--min-version"),
      rotateEverySeconds: rotate === undefined ? undefined : durationOption(rotate, "--rotate-every", true),
      lockNonExportable: ctx.values["lock-non-exportable"],
    };
    if (Object.values(changes).every((v) => v === undefined)) {
      throw usageError(
        "`vhsm key update` needs something to change",
        "give --usage, --min-version, --rotate-every or --lock-non-exportable",
      );
    }
    await (await ctx.connect()).keys.update(id, changes);
    await ctx.out.result({ updated: id }, null);
    return Exit.OK;
  },
};
