/** `revoke`, `list`, `status`: the appliance's containers as a whole. */
import { seg } from "../admin-client.ts";
import type { ContainerInfo, Ctx } from "../context.ts";
import { n, table } from "../output.ts";

export async function revokeCommand(ctx: Ctx, name: string, wipe: boolean): Promise<void> {
  const before = await ctx.admin.call<ContainerInfo>("GET", `/v1/containers/${seg(name)}`);
  const r = await ctx.admin.call<{ name: string; revoked: boolean; wiped: boolean }>(
    "DELETE",
    `/v1/containers/${seg(name)}${wipe ? "?wipe=true" : ""}`,
  );
  const alreadyRevoked = before.revoked && !wipe;
  const human = wipe
    ? `${name}: revoked and wiped; ${n(before.users, "user")} and ${n(before.keys, "key")} destroyed`
    : alreadyRevoked
      ? `${name}: already revoked`
      : `${name}: revoked; ${n(before.sessions, "live session")} closed; ${n(before.users, "user")} and ${n(before.keys, "key")} kept (enroll again to restore them, revoke --wipe to destroy them)`;
  ctx.out.result(
    { ...r, alreadyRevoked, sessionsClosed: before.sessions, users: before.users, keys: before.keys },
    human,
  );
}

function ago(ms: number | null): string {
  if (!ms) return "never";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return new Date(ms).toISOString();
}

export async function listCommand(ctx: Ctx): Promise<void> {
  const all = await ctx.admin.call<ContainerInfo[]>("GET", "/v1/containers");
  const rows = all.map((c) => [
    c.name,
    c.revoked ? "revoked" : "active",
    String(c.users) + (c.lockedUsers ? ` (${c.lockedUsers} locked)` : ""),
    String(c.keys),
    String(c.sessions),
    ago(c.lastActivity),
    c.uid === null && c.gid === null ? "-" : `${c.uid ?? "-"}:${c.gid ?? "-"}`,
  ]);
  const human = all.length
    ? table(["NAME", "STATE", "USERS", "KEYS", "SESSIONS", "LAST ACTIVITY", "UID:GID"], rows)
    : ["no containers enrolled; add one with: vhsm-provision enroll NAME"];
  ctx.out.result(all, human);
}

export async function statusCommand(ctx: Ctx): Promise<void> {
  const s = await ctx.admin.call<Record<string, unknown>>("GET", "/v1/status");
  const width = Math.max(...Object.keys(s).map((k) => k.length));
  ctx.out.result(
    s,
    Object.entries(s).map(
      ([k, v]) => `${`${k}:`.padEnd(width + 2)}${typeof v === "object" ? JSON.stringify(v) : v}`,
    ),
  );
}
