/** `user add|rm|list|unlock|reset-pin --container NAME`. PINs come from readPin, never argv. */
import { seg } from "../admin-client.ts";
import type { Ctx } from "../context.ts";
import { ProvisionError } from "../errors.ts";
import { n, table } from "../output.ts";
import { readPin } from "../pin.ts";

interface UserInfo {
  name: string;
  created: string;
  failedAttempts: number;
  locked: boolean;
  keys: number;
  loggedIn: boolean;
  service?: boolean;
}

const usersPath = (container: string) => `/v1/containers/${seg(container)}/users`;

export async function userAdd(
  ctx: Ctx,
  container: string,
  user: string,
  pinFile?: string,
  service = false,
): Promise<void> {
  if (service) {
    const r = await ctx.admin.call<{ warning: string; masterKeyFile: string }>("POST", usersPath(container), {
      name: user,
      service: true,
    });
    ctx.out.result(r, [
      `${container}/${user}: created as a service user (no PIN)`,
      `note: ${r.warning}; master key file: ${r.masterKeyFile}`,
    ]);
    return;
  }
  const pin = await readPin({ pinFile, env: ctx.env, prompt: ctx.prompt }, `PIN for ${user}`);
  const r = await ctx.admin.call("POST", usersPath(container), { name: user, pin });
  ctx.out.result(r, `${container}/${user}: created`);
}

export async function userRemove(ctx: Ctx, container: string, user: string, yes: boolean): Promise<void> {
  const r = await ctx.admin.call<{ keysDestroyed: number }>(
    "DELETE",
    `${usersPath(container)}/${seg(user)}${yes ? "?confirm=true" : ""}`,
  );
  ctx.out.result(r, `${container}/${user}: removed; ${n(r.keysDestroyed, "key")} destroyed`);
}

export async function userList(ctx: Ctx, container: string): Promise<void> {
  const users = await ctx.admin.call<UserInfo[]>("GET", usersPath(container));
  const rows = users.map((u) => [
    u.name,
    String(u.keys),
    u.service ? "service" : u.locked ? "locked" : u.failedAttempts ? `${u.failedAttempts} failed PINs` : "ok",
    u.loggedIn ? "yes" : "no",
    u.created,
  ]);
  const human = users.length
    ? table(["USER", "KEYS", "STATE", "LOGGED IN", "CREATED"], rows)
    : [`no users in ${container}; add one with: vhsm-provision user add --container ${container} USER`];
  ctx.out.result(users, human);
}

export async function userUnlock(ctx: Ctx, container: string, user: string): Promise<void> {
  const r = await ctx.admin.call("POST", `${usersPath(container)}/${seg(user)}/unlock`);
  ctx.out.result(r, `${container}/${user}: unlocked; failed PIN count reset`);
}

export async function userResetPin(
  ctx: Ctx,
  container: string,
  user: string,
  destroyKeys: boolean,
  pinFile?: string,
): Promise<void> {
  // Refused before any PIN is asked for: the appliance would refuse it too, and the operator should
  // know up front that a reset without the old PIN loses the user's keys.
  if (!destroyKeys) {
    throw new ProvisionError(
      "CONFIRMATION_REQUIRED",
      `resetting ${user}'s PIN without the old one destroys all of ${user}'s keys (their data key is sealed by the old PIN)`,
      "repeat with --destroy-keys if that is what you want; users who know their PIN change it with `vhsm pin change`",
    );
  }
  const pin = await readPin({ pinFile, env: ctx.env, prompt: ctx.prompt }, `new PIN for ${user}`);
  const r = await ctx.admin.call<{ keysDestroyed: number }>(
    "POST",
    `${usersPath(container)}/${seg(user)}/reset-pin`,
    { pin, destroyKeys: true },
  );
  ctx.out.result(r, `${container}/${user}: PIN reset; ${n(r.keysDestroyed, "key")} destroyed`);
}
