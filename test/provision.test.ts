/**
 * vhsm-provision as an operator runs it: a subprocess against the real appliance (started with
 * --max-pin-attempts 3), checking output, exit codes and what actually changed in the appliance.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, ROOT, startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { provisionCli } from "./support/cli-runner.ts";

let app: TestAppliance;

beforeAll(async () => {
  app = await startTestAppliance({ args: ["--max-pin-attempts", "3"] });
});
afterAll(async () => {
  await app?.dispose();
});

const provision = provisionCli(() => app.adminSocket);
/** A PIN only when the test gives one (VHSM_* from the outer environment never leaks in). */
const cli = (args: string[], env: Record<string, string> = {}) => provision(args, { env });

const noPin = {};
const withPin = (pin: string) => ({ VHSM_PIN: pin });

const containers = async () => (await app.admin("GET", "/v1/containers")).json as any[];
const users = async (c: string) => (await app.admin("GET", `/v1/containers/${c}/users`)).json as any[];

describe("enroll", () => {
  test("enrolls, and a second enroll is a no-op that says so", async () => {
    const first = await cli(["--json", "enroll", "web"]);
    expect(first.code).toBe(0);
    expect(first.json).toMatchObject({ name: "web", outcome: "enrolled", changed: true, revoked: false });
    expect(existsSync(first.json.socket)).toBe(true);

    const again = await cli(["enroll", "web"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("web: already enrolled");
    expect((await containers()).filter((c) => c.name === "web")).toHaveLength(1);
  });

  test("an invalid name is refused with BAD_ARGUMENTS and exit 2, nothing enrolled", async () => {
    const before = await containers();
    const r = await cli(["enroll", "Bad Name!"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: BAD_ARGUMENTS");
    expect(r.stderr).toContain("hint:");
    expect(await containers()).toEqual(before);
  });

  test("--uid/--gid give the container's socket an owner and mode 0660", async () => {
    const r = await cli(["--json", "enroll", "owned", "--uid", "4242", "--gid", "4343"]);
    expect(r.code).toBe(0);
    const s = statSync(r.json.socket);
    expect([s.uid, s.gid, s.mode & 0o777]).toEqual([4242, 4343, 0o660]);
  });
});

describe("users", () => {
  test("user add takes the PIN from VHSM_PIN; the user can log in with it", async () => {
    const r = await cli(["user", "add", "--container", "web", "alice"], withPin("alice-pin-1"));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("web/alice: created");
    const client = await app.client("web", "alice", "alice-pin-1");
    await client.ping();
    client.close();
  });

  test("user add takes the PIN from --pin-file (first line)", async () => {
    const file = join(app.dir, "bob.pin");
    writeFileSync(file, "bob-pin-22\nignored second line\n", { mode: 0o600 });
    const r = await cli(["user", "add", "--container", "web", "bob", "--pin-file", file], noPin);
    expect(r.code).toBe(0);
    const client = await app.client("web", "bob", "bob-pin-22");
    client.close();
  });

  test("a duplicate user is USER_EXISTS, exit 5, and the first PIN still works", async () => {
    const r = await cli(["--json", "user", "add", "--container", "web", "alice"], withPin("other-pin"));
    expect(r.code).toBe(5);
    expect(r.json.error.code).toBe("USER_EXISTS");
    expect(r.json.error.hint).toContain("already exists");
    const client = await app.client("web", "alice", "alice-pin-1");
    client.close();
  });

  test("no PIN and no terminal: refused before anything is sent", async () => {
    const r = await cli(["user", "add", "--container", "web", "carol"], noPin);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: BAD_ARGUMENTS: no PIN");
    expect((await users("web")).map((u) => u.name)).not.toContain("carol");
  });

  test("a PIN on argv is refused outright", async () => {
    for (const args of [
      ["user", "add", "--container", "web", "carol", "--pin", "1234-5678"],
      ["user", "add", "--container", "web", "carol", "--pin=1234-5678"],
    ]) {
      const r = await cli(args, withPin("carol-pin"));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("never accepted on the command line");
    }
    expect((await users("web")).map((u) => u.name)).not.toContain("carol");
  });

  test("a PIN that breaks the policy is PIN_POLICY, exit 2", async () => {
    const r = await cli(["--json", "user", "add", "--container", "web", "dave"], withPin("12"));
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe("PIN_POLICY");
    expect((await users("web")).map((u) => u.name)).not.toContain("dave");
  });

  test("unknown container: CONTAINER_NOT_FOUND, exit 4, with the shared hint", async () => {
    const r = await cli(["user", "list", "--container", "nosuch"]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("error: CONTAINER_NOT_FOUND: no container named nosuch");
    expect(r.stderr).toContain("hint: no container with this name is enrolled");
    const add = await cli(["--json", "user", "add", "--container", "nosuch", "x"], withPin("1234-pin"));
    expect([add.code, add.json.error.code]).toEqual([4, "CONTAINER_NOT_FOUND"]);
  });

  test("user list shows keys, lock state and who is logged in", async () => {
    const client = await app.client("web", "alice", "alice-pin-1");
    await client.keys.generate({ id: "alice-k1" });
    const r = await cli(["--json", "user", "list", "--container", "web"]);
    expect(r.code).toBe(0);
    const alice = r.json.find((u: any) => u.name === "alice");
    expect(alice).toMatchObject({ keys: 1, locked: false, loggedIn: true });
    client.close();
    const human = await cli(["user", "list", "--container", "web"]);
    expect(human.stdout).toMatch(/^USER\s+KEYS\s+STATE/);
    expect(human.stdout).toMatch(/alice\s+1\s+ok/);
  });

  test("user rm of a user with keys needs --yes; then the keys are destroyed", async () => {
    const setup = await cli(["user", "add", "--container", "web", "erin"], withPin("erin-pin-1"));
    expect(setup.code).toBe(0);
    const client = await app.client("web", "erin", "erin-pin-1");
    await client.keys.generate({ id: "erin-k1" });
    await client.keys.generate({ id: "erin-k2" });

    const refused = await cli(["--json", "user", "rm", "--container", "web", "erin"]);
    expect([refused.code, refused.json.error.code]).toEqual([6, "CONFIRMATION_REQUIRED"]);
    expect(await client.keys.count()).toBe(2);

    const done = await cli(["--json", "user", "rm", "--container", "web", "erin", "--yes"]);
    expect(done.code).toBe(0);
    expect(done.json).toMatchObject({ removed: true, keysDestroyed: 2 });
    expect((await users("web")).map((u) => u.name)).not.toContain("erin");
    await expect(client.ping()).rejects.toThrow(); // its session was closed
    client.close();

    const again = await cli(["--json", "user", "rm", "--container", "web", "erin", "--yes"]);
    expect([again.code, again.json.error.code]).toEqual([4, "USER_NOT_FOUND"]);
  });

  test("reset-pin without --destroy-keys is refused and changes nothing", async () => {
    const r = await cli(["--json", "user", "reset-pin", "--container", "web", "alice"], withPin("new-pin-9"));
    expect([r.code, r.json.error.code]).toEqual([6, "CONFIRMATION_REQUIRED"]);
    const client = await app.client("web", "alice", "alice-pin-1");
    expect(await client.keys.list()).toContain("alice-k1");
    client.close();
  });

  test("reset-pin --destroy-keys sets the new PIN and destroys the keys", async () => {
    const r = await cli(
      ["--json", "user", "reset-pin", "--container", "web", "alice", "--destroy-keys"],
      withPin("alice-pin-2"),
    );
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ pinReset: true, keysDestroyed: 1 });
    await expect(app.client("web", "alice", "alice-pin-1")).rejects.toMatchObject({
      code: "BAD_CREDENTIALS",
    });
    const client = await app.client("web", "alice", "alice-pin-2");
    expect(await client.keys.count()).toBe(0);
    client.close();
  });

  test("after 3 wrong PINs the user is locked; unlock lets the right PIN in again", async () => {
    await cli(["user", "add", "--container", "web", "frank"], withPin("frank-pin-1"));
    for (let i = 0; i < 3; i++) {
      await expect(app.client("web", "frank", "wrong-pin")).rejects.toMatchObject({
        code: "BAD_CREDENTIALS",
      });
    }
    await expect(app.client("web", "frank", "frank-pin-1")).rejects.toMatchObject({ code: "PIN_LOCKED" });
    const listed = await cli(["--json", "user", "list", "--container", "web"]);
    expect(listed.json.find((u: any) => u.name === "frank")).toMatchObject({
      locked: true,
      failedAttempts: 3,
    });
    expect((await cli(["--json", "list"])).json.find((c: any) => c.name === "web").lockedUsers).toBe(1);

    const r = await cli(["user", "unlock", "--container", "web", "frank"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("web/frank: unlocked");
    const client = await app.client("web", "frank", "frank-pin-1");
    client.close();
    expect((await cli(["user", "unlock", "--container", "web", "frank"])).code).toBe(0); // idempotent
    const ghost = await cli(["--json", "user", "unlock", "--container", "web", "ghost"]);
    expect([ghost.code, ghost.json.error.code]).toEqual([4, "USER_NOT_FOUND"]);
  });
});

describe("list and status", () => {
  test("list shows users, keys, sessions and last activity", async () => {
    const client = await app.client("web", "bob", "bob-pin-22");
    await client.keys.generate({ id: "bob-k1" });
    const r = await cli(["--json", "list"]);
    expect(r.code).toBe(0);
    const web = r.json.find((c: any) => c.name === "web");
    expect(web).toMatchObject({ revoked: false, keys: 1, sessions: 1 });
    expect(web.users).toBe((await users("web")).length);
    expect(Date.now() - web.lastActivity).toBeLessThan(60_000);
    const human = await cli(["list"]);
    expect(human.stdout).toMatch(/^NAME\s+STATE\s+USERS\s+KEYS\s+SESSIONS\s+LAST ACTIVITY/);
    expect(human.stdout).toMatch(/\nweb\s+active\s+\d+ \(?/);
    client.close();
  });

  test("status reports the appliance's totals", async () => {
    const r = await cli(["--json", "status"]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ selfTest: "passed", runDir: app.runDir });
    expect(r.json.containers).toBe((await containers()).filter((c) => !c.revoked).length);
    expect((await cli(["status"])).stdout).toMatch(/selfTest:\s+passed/);
  });

  test("an appliance that is not there: CONNECTION_FAILED, exit 3", async () => {
    const r = await cli(["--json", "status"], { VHSM_ADMIN_SOCKET: join(app.dir, "nothing.sock") });
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe("CONNECTION_FAILED");
    const flag = await cli(["--admin-socket", join(app.dir, "nothing.sock"), "list"]);
    expect(flag.code).toBe(3);
    expect(flag.stderr).toContain("no socket there");
  });
});

describe("the admin API refuses malformed JSON and changes nothing", () => {
  test.each([
    ["POST", "/v1/containers", "{not json"],
    ["POST", "/v1/containers", { name: "x1", extra: true }],
    ["POST", "/v1/containers", { name: "x1", uid: -1 }],
    ["POST", "/v1/containers", { name: "x1", uid: "1000" }],
    ["POST", "/v1/containers", { uid: 1 }],
    ["POST", "/v1/containers/web/users", { name: "zed" }],
    ["POST", "/v1/containers/web/users", { name: "zed", pin: 1234 }],
    ["POST", "/v1/containers/web/users", "[]"],
    ["POST", "/v1/containers/web/users/bob/reset-pin", { pin: "new-pin-1", destroyKeys: "yes" }],
  ])("%s %s %p → 400 BAD_ARGUMENTS", async (method, path, body) => {
    const before = [await containers(), await users("web")];
    const r = await app.admin(method, path, body);
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("BAD_ARGUMENTS");
    expect([await containers(), await users("web")]).toEqual(before);
    const bob = await app.client("web", "bob", "bob-pin-22"); // bob's PIN survived the bad reset-pin
    bob.close();
  });
});

describe("revoke", () => {
  test("revoke closes live sessions at once, keeps keys; enroll again brings them back", async () => {
    const client = await app.client("web", "bob", "bob-pin-22");
    expect(await client.keys.list()).toContain("bob-k1");

    const r = await cli(["--json", "revoke", "web"]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ revoked: true, wiped: false, alreadyRevoked: false, sessionsClosed: 1 });
    await expect(client.keys.list()).rejects.toThrow();
    client.close();
    expect(existsSync(app.socketOf("web"))).toBe(false);
    expect((await containers()).find((c) => c.name === "web")).toMatchObject({ revoked: true, keys: 1 });

    const again = await cli(["revoke", "web"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("web: already revoked");

    const back = await cli(["--json", "enroll", "web"]);
    expect(back.json).toMatchObject({ outcome: "re-enrolled", revoked: false, keys: 1 });
    const after = await app.client("web", "bob", "bob-pin-22");
    expect(await after.keys.list()).toContain("bob-k1");
    after.close();
  });

  test("revoke --wipe destroys users and keys", async () => {
    const r = await cli(["--json", "revoke", "web", "--wipe"]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ revoked: true, wiped: true });
    expect((await containers()).find((c) => c.name === "web")).toBeUndefined();
    const fresh = await cli(["--json", "enroll", "web"]);
    expect(fresh.json).toMatchObject({ outcome: "enrolled", users: 0, keys: 0 });
    await expect(app.client("web", "bob", "bob-pin-22")).rejects.toMatchObject({ code: "BAD_CREDENTIALS" });
  });

  test("revoking an unknown container: CONTAINER_NOT_FOUND, exit 4", async () => {
    const r = await cli(["revoke", "never-enrolled"]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("error: CONTAINER_NOT_FOUND");
  });
});

describe("usage", () => {
  test("unknown commands and missing options exit 2; --help exits 0", async () => {
    expect((await cli(["frobnicate"])).code).toBe(2);
    expect((await cli(["user", "add", "alice"], withPin("1234-pin"))).code).toBe(2); // no --container
    expect((await cli(["enroll", "x2", "--uid", "-5"])).code).toBe(2);
    expect((await cli(["enroll"])).code).toBe(2);
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("enroll");
  });
});

/** Runs the CLI on a pseudo-terminal (util-linux `script`), typing `keys` with pauses between lines. */
async function onTerminal(args: string[], keys: string[]) {
  const command = [BUN, join(ROOT, "provision/main.ts"), ...args].map((a) => `'${a}'`).join(" ");
  const env: Record<string, string | undefined> = { ...process.env, VHSM_ADMIN_SOCKET: app.adminSocket };
  delete env.VHSM_PIN; // the prompt is the last resort: only when no PIN is given otherwise
  const proc = Bun.spawn(["script", "-qec", command, "/dev/null"], {
    env,
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = new Response(proc.stdout).text();
  for (const k of keys) {
    await Bun.sleep(700); // let the prompt switch the terminal to raw mode first
    proc.stdin.write(k);
    proc.stdin.flush();
  }
  const code = await proc.exited;
  proc.stdin.end();
  return { code, output: await output };
}

describe.skipIf(!Bun.which("script"))("interactive PIN prompt", () => {
  test("asks twice without echo; the user can log in with the PIN typed", async () => {
    const r = await onTerminal(
      ["user", "add", "--container", "owned", "tina"],
      ["tina-pin-77\r", "tina-pin-77\r"],
    );
    expect(r.code).toBe(0);
    expect(r.output).toContain("New PIN for tina:");
    expect(r.output).toContain("Repeat PIN for tina:");
    expect(r.output).not.toContain("tina-pin-77");
    const client = await app.client("owned", "tina", "tina-pin-77");
    client.close();
  });

  test("two different PINs: refused, no user created", async () => {
    const r = await onTerminal(
      ["user", "add", "--container", "owned", "uma"],
      ["uma-pin-1\r", "uma-pin-2\r"],
    );
    expect(r.code).toBe(2);
    expect(r.output).toContain("the two PINs do not match");
    expect((await users("owned")).map((u) => u.name)).not.toContain("uma");
  });
});

const COMPILED = join(ROOT, "dist/vhsm-provision");
test.skipIf(!existsSync(COMPILED))("the compiled dist/vhsm-provision enrolls and lists", async () => {
  const run = (args: string[]) =>
    Bun.spawnSync([COMPILED, "--admin-socket", app.adminSocket, "--json", ...args], { stdin: "ignore" });
  const enroll = run(["enroll", "compiled-ok"]);
  expect(enroll.exitCode).toBe(0);
  expect(JSON.parse(enroll.stdout.toString())).toMatchObject({ name: "compiled-ok", outcome: "enrolled" });
  const list = JSON.parse(run(["list"]).stdout.toString()) as any[];
  expect(list.map((c) => c.name)).toContain("compiled-ok");
  const missing = run(["revoke", "no-such-one"]);
  expect(missing.exitCode).toBe(4);
});
