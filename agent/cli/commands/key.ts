/** `vhsm key generate|import|list|info|rm|count`; public, rotate and update are in key-versions.ts. */

import type { KeyInfo, NewKeyOptions } from "../../src/keys.ts";
import type { KeyFormatName } from "../../src/names.ts";
import { exactArgs, integerOption } from "../args.ts";
import type { Context } from "../context.ts";
import { durationOption, formatDuration, formatOption, keyTypeOption, usageOption } from "../crypto-args.ts";
import { Exit, usageError } from "../errors.ts";
import { openInput, readAll } from "../input.ts";
import type { Command } from "./command.ts";

/** Bound on an imported key read from a file or stdin (an RSA-4096 PEM is ~3.3 KB); the appliance checks the rest. */
const MAX_SECRET = 64 * 1024;

/** How a new key may be used: --usage, --exportable (generate, import, unwrap). */
export function policyOptions(ctx: Context): NewKeyOptions {
  return { id: ctx.values.id, usage: usageOption(ctx.values.usage), exportable: ctx.values.exportable };
}

export const keyGenerate: Command = {
  words: ["key", "generate"],
  args: [],
  options: ["type", "bits", "id", "usage", "exportable", "rotate-every"],
  synopsis: "[--type TYPE] [--bits N] [--id ID] [--usage U,...] [--exportable] [--rotate-every D]",
  summary: "generate a key inside the appliance (default type hmac); prints its id",
  async run(ctx) {
    exactArgs(ctx.args, [], "key generate");
    const type = keyTypeOption(ctx.values.type, "hmac");
    const bits =
      ctx.values.bits === undefined ? undefined : integerOption(ctx.values.bits, "--bits", 1, 65535);
    const rotate = ctx.values["rotate-every"];
    const rotateEverySeconds = rotate === undefined ? 0 : durationOption(rotate, "--rotate-every", true);
    const policy = policyOptions(ctx);
    const client = await ctx.connect();
    const id = await client.keys.generate({ type, bits, rotateEverySeconds, ...policy });
    await ctx.out.result({ id }, id);
    return Exit.OK;
  },
};

const IMPORT_FORMATS = ["raw", "pem", "der", "jwk"] as const;

/** Without --format: PEM and JWK by their first bytes, else raw for secrets and Ed25519 seeds, DER otherwise. */
function importFormat(explicit: string | undefined, type: string, material: Buffer): KeyFormatName {
  if (explicit !== undefined) return formatOption(explicit, IMPORT_FORMATS);
  const head = material.subarray(0, 16).toString("latin1").trimStart();
  if (head.startsWith("-----BEGIN")) return "pem";
  if (head.startsWith("{")) return "jwk";
  if (type === "hmac" || type === "aes-256" || (type === "ed25519" && material.length === 32)) return "raw";
  return "der";
}

export const keyImport: Command = {
  words: ["key", "import"],
  args: [],
  options: ["type", "id", "in", "format", "usage", "exportable"],
  synopsis: "[--type TYPE] [--format raw|pem|der|jwk] [--id ID] [--usage U,...] [--exportable] [--in FILE]",
  summary: "import a secret or private key (bring your own key) from FILE (or stdin); prints its id",
  async run(ctx) {
    exactArgs(ctx.args, [], "key import");
    const type = keyTypeOption(ctx.values.type, "hmac");
    if (ctx.values.format !== undefined) formatOption(ctx.values.format, IMPORT_FORMATS);
    const policy = policyOptions(ctx);
    if (ctx.values.in === undefined && process.stdin.isTTY) {
      throw usageError("key import reads the key from --in FILE or from stdin, and stdin is a terminal");
    }
    const input = await openInput(ctx.values.in);
    let secret: Buffer;
    try {
      secret = await readAll(input, MAX_SECRET);
    } finally {
      await input.close();
    }
    try {
      if (secret.length === 0) throw usageError(`the key in ${input.name} is empty`);
      if (secret.length > MAX_SECRET)
        throw usageError(`the key in ${input.name} is over ${MAX_SECRET} bytes`);
      const format = importFormat(ctx.values.format, type, secret);
      const client = await ctx.connect();
      const id = await client.keys.import(secret, { type, format, ...policy });
      await ctx.out.result({ id }, id);
    } finally {
      secret.fill(0);
    }
    return Exit.OK;
  },
};

export const keyList: Command = {
  words: ["key", "list"],
  args: [],
  options: [],
  synopsis: "",
  summary: "list key ids, one per line",
  async run(ctx) {
    exactArgs(ctx.args, [], "key list");
    const ids = await (await ctx.connect()).keys.list();
    await ctx.out.result({ ids }, ids.length ? ids.join("\n") : null);
    return Exit.OK;
  },
};

export const keyInfo: Command = {
  words: ["key", "info"],
  args: ["ID"],
  options: [],
  synopsis: "",
  summary: "show a key's type, size, versions, usage, exportability, rotation and use count",
  async run(ctx) {
    exactArgs(ctx.args, ["ID"], "key info");
    const info = await (await ctx.connect()).keys.info(ctx.args[0]!);
    const json = {
      ...info,
      created: info.created.toISOString(),
      rotated: info.rotated.toISOString(),
      lastUsed: info.lastUsed?.toISOString() ?? null,
    };
    await ctx.out.result(json, describe(info));
    return Exit.OK;
  },
};

function describe(info: KeyInfo): string {
  const rows: [string, string][] = [
    ["id", info.id],
    ["type", info.type],
    ["bits", String(info.bits)],
    ["version", String(info.version)],
    ["min version", String(info.minVersion)],
    ["usage", info.usage.join(",") || "-"],
    ["exportable", info.exportable ? "yes" : "no"],
    ["rotation", info.rotateEverySeconds ? `every ${formatDuration(info.rotateEverySeconds)}` : "never"],
    ["created", info.created.toISOString()],
    ["rotated", info.rotated.toISOString()],
    ["last used", info.lastUsed?.toISOString() ?? "never"],
    ["uses", String(info.useCount)],
  ];
  return rows.map(([k, v]) => `${k.padEnd(12)}${v}`).join("\n");
}

export const keyRm: Command = {
  words: ["key", "rm"],
  args: ["ID"],
  options: [],
  synopsis: "",
  summary: "delete a key (for good)",
  async run(ctx) {
    exactArgs(ctx.args, ["ID"], "key rm");
    const id = ctx.args[0]!;
    await (await ctx.connect()).keys.delete(id);
    await ctx.out.result({ deleted: id }, null);
    return Exit.OK;
  },
};

export const keyCount: Command = {
  words: ["key", "count"],
  args: [],
  options: [],
  synopsis: "",
  summary: "print the number of keys",
  async run(ctx) {
    exactArgs(ctx.args, [], "key count");
    const count = await (await ctx.connect()).keys.count();
    await ctx.out.result({ count }, String(count));
    return Exit.OK;
  },
};
