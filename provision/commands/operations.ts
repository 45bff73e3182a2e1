/** `backup` and `keys`: operations on the appliance's key store as a whole. */
import { resolve } from "node:path";
import { seg } from "../admin-client.ts";
import type { Ctx } from "../context.ts";
import { n, table } from "../output.ts";

interface BackupResult {
  path: string;
  bytes: number;
  milliseconds: number;
  containers: number;
  users: number;
  keys: number;
}

/** An online, consistent snapshot written by the appliance itself (VACUUM INTO), mode 0600. */
export async function backupCommand(ctx: Ctx, out: string): Promise<void> {
  const path = resolve(out);
  ctx.out.note(`backing up the key store to ${path} (the appliance keeps serving)...`);
  const r = await ctx.admin.call<BackupResult>("POST", "/v1/backup", { path });
  ctx.out.result(
    r,
    `backup written: ${path} (${(r.bytes / 1024).toFixed(0)} KiB in ${r.milliseconds} ms; ${n(r.containers, "container")}, ${n(r.users, "user")}, ${n(r.keys, "key")}); restore with: vhsm-appliance restore --from ${path} --data DIR`,
  );
}

interface KeyRow {
  user: string;
  id: string;
  type: string;
  bits: number;
  versions: number;
  useCount: number;
  lastUsed: string | null;
  created: string;
}

/** Per-key metadata of a container: type, versions, use counts and last use (never material). */
export async function keysCommand(ctx: Ctx, container: string): Promise<void> {
  const keys = await ctx.admin.call<KeyRow[]>("GET", `/v1/containers/${seg(container)}/keys`);
  const rows = keys.map((k) => [
    k.user,
    k.id,
    k.type === "rsa" ? `rsa-${k.bits}` : k.type,
    String(k.versions),
    String(k.useCount),
    k.lastUsed ?? "never",
  ]);
  const human = keys.length
    ? table(["USER", "KEY", "TYPE", "VERSIONS", "USES", "LAST USED"], rows)
    : [`no keys in ${container}`];
  ctx.out.result(keys, human);
}
