/** `vhsm key generate|import|list|info|rm|count`. */

import type { KeyInfo } from "../../src/keys.ts";
import { exactArgs, integerOption, keyTypeOption } from "../args.ts";
import { Exit, usageError } from "../errors.ts";
import { openInput, readAll } from "../input.ts";
import type { Command } from "./command.ts";

/** Bound on an imported secret read from a file or stdin; the appliance enforces the real limits. */
const MAX_SECRET = 64 * 1024;

export const keyGenerate: Command = {
  words: ["key", "generate"],
  args: [],
  options: ["type", "bits", "id"],
  synopsis: "[--type hmac] [--bits N] [--id ID]",
  summary: "generate a key inside the appliance; prints its id",
  async run(ctx) {
    exactArgs(ctx.args, [], "key generate");
    const type = keyTypeOption(ctx.values.type);
    const bits =
      ctx.values.bits === undefined ? undefined : integerOption(ctx.values.bits, "--bits", 1, 65535);
    const client = await ctx.connect();
    const id = await client.keys.generate({ type, bits, id: ctx.values.id });
    await ctx.out.result({ id }, id);
    return Exit.OK;
  },
};

export const keyImport: Command = {
  words: ["key", "import"],
  args: [],
  options: ["type", "id", "in"],
  synopsis: "[--id ID] [--type hmac] [--in FILE]",
  summary: "import a raw secret from FILE (or stdin); prints the key id",
  async run(ctx) {
    exactArgs(ctx.args, [], "key import");
    const type = keyTypeOption(ctx.values.type);
    if (ctx.values.in === undefined && process.stdin.isTTY) {
      throw usageError("key import reads the secret from --in FILE or from stdin, and stdin is a terminal");
    }
    const input = await openInput(ctx.values.in);
    let secret: Buffer;
    try {
      secret = await readAll(input, MAX_SECRET);
    } finally {
      await input.close();
    }
    try {
      if (secret.length === 0) throw usageError(`the secret in ${input.name} is empty`);
      if (secret.length > MAX_SECRET)
        throw usageError(`the secret in ${input.name} is over ${MAX_SECRET} bytes`);
      const client = await ctx.connect();
      const id = await client.keys.import(secret, { type, id: ctx.values.id });
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
  summary: "show a key's type, size, version, usage and use count",
  async run(ctx) {
    exactArgs(ctx.args, ["ID"], "key info");
    const info = await (await ctx.connect()).keys.info(ctx.args[0]!);
    const json = {
      ...info,
      created: info.created.toISOString(),
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
    ["usage", info.usage.join(",") || "-"],
    ["created", info.created.toISOString()],
    ["last used", info.lastUsed?.toISOString() ?? "never"],
    ["uses", String(info.useCount)],
  ];
  return rows.map(([k, v]) => `${k.padEnd(10)}${v}`).join("\n");
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
