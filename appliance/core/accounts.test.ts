/** Accounts over a real key store in a temp dir: PIN checks, the attempt budget, shared vaults. */

import type { Database } from "bun:sqlite";
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { code } from "../../test/support/outcome.ts";
import { Accounts, wrapNewDataKey } from "./accounts.ts";
import { MasterKey } from "./master-key.ts";
import { type ContainerRow, ContainerStore } from "./store/containers.ts";
import { openDatabase } from "./store/database.ts";
import { UserStore } from "./store/users.ts";

const dir = mkdtempSync(join(tmpdir(), "vhsm-accounts-"));
const master = () => new MasterKey(join(dir, "master.key"));
let db: Database;
let users: UserStore;
let accounts: Accounts;
let container: ContainerRow;
let n = 0;
const pin = (s: string) => Buffer.from(s);

beforeEach(() => {
  db?.close();
  db = openDatabase(join(dir, `db-${n++}`));
  users = new UserStore(db);
  accounts = new Accounts(users, { maxPinAttempts: 3, kdfLogN: 10, keyCacheLimit: 100 }, master());
  container = new ContainerStore(db).enroll("unit", null, null).row;
});
afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Accounts", () => {
  test("the right PIN opens a vault; every further login shares it until the last release", async () => {
    const user = await accounts.createUser(container, "u", pin("right-pin"));
    const v1 = await accounts.login(container, "u", pin("right-pin"));
    const v2 = await accounts.login(container, "u", pin("right-pin"));
    expect(v2).toBe(v1);
    expect(v1.sessions).toBe(2);
    accounts.release(v1);
    expect(accounts.isOpen(user.id)).toBe(true);
    accounts.release(v2);
    expect(accounts.isOpen(user.id)).toBe(false);
    expect(v1.alive).toBe(false);
  });

  test("wrong PINs count, the budget is never exceeded, and the right PIN is refused once locked", async () => {
    const user = await accounts.createUser(container, "u", pin("right-pin"));
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => code(accounts.login(container, "u", pin(`guess-${i}`)))),
    );
    expect(results.filter((r) => r === "BAD_CREDENTIALS").length).toBe(3);
    expect(results.filter((r) => r === "PIN_LOCKED").length).toBe(7);
    expect(users.failedAttempts(user.id)).toBe(3);
    expect(await code(accounts.login(container, "u", pin("right-pin")))).toBe("PIN_LOCKED");
    users.resetAttempts(user.id);
    expect(await code(accounts.login(container, "u", pin("right-pin")))).toBe("OK");
  });

  test("concurrent right-PIN logins beyond the attempt budget all succeed with one vault", async () => {
    const user = await accounts.createUser(container, "u", pin("right-pin"));
    const vaults = await Promise.all(
      Array.from({ length: 8 }, () => accounts.login(container, "u", pin("right-pin"))),
    );
    expect(new Set(vaults).size).toBe(1);
    expect(vaults[0]!.sessions).toBe(8);
    expect(users.failedAttempts(user.id)).toBe(0);
  });

  test("an unknown user is BAD_CREDENTIALS and creates no row", async () => {
    expect(await code(accounts.login(container, "ghost", pin("any-pin")))).toBe("BAD_CREDENTIALS");
    expect(users.list(container.id)).toEqual([]);
  });

  test("guesses at a name that is no user end in PIN_LOCKED as for a user: the answers do not tell which names exist", async () => {
    await accounts.createUser(container, "real", pin("right-pin"));
    const guess = (name: string) =>
      Promise.all(
        Array.from({ length: 10 }, (_, i) => code(accounts.login(container, name, pin(`guess-${i}`)))),
      );
    const [real, ghost] = await Promise.all([guess("real"), guess("ghost")]);
    expect(ghost).toEqual(real);
    expect(ghost.filter((r) => r === "BAD_CREDENTIALS").length).toBe(3);
    expect(ghost.filter((r) => r === "PIN_LOCKED").length).toBe(7);
    const messages = await Promise.all(
      ["real", "ghost"].map((name) =>
        accounts.login(container, name, pin("any-pin")).catch((e: Error) => e.message.replace(name, "NAME")),
      ),
    );
    expect(messages[1]).toBe(messages[0]);
    // another container's same name is not locked; a user created with the name starts afresh
    const other = new ContainerStore(db).enroll("other", null, null).row;
    expect(await code(accounts.login(other, "ghost", pin("any-pin")))).toBe("BAD_CREDENTIALS");
    await accounts.createUser(container, "ghost", pin("ghost-pin"));
    expect(await code(accounts.login(container, "ghost", pin("ghost-pin")))).toBe("OK");
  });

  test("a burst of wrong guesses is answered alike for a user logged out, one logged in elsewhere and a name that is no user", async () => {
    await accounts.createUser(container, "out", pin("right-pin"));
    await accounts.createUser(container, "in", pin("right-pin"));
    const session = await accounts.login(container, "in", pin("right-pin"));
    /** The codes of 10 guesses at once, in the order their answers come. */
    const burst = async (name: string) => {
      const settled: string[] = [];
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          code(accounts.login(container, name, pin(`guess-${i}`))).then((c) => settled.push(c)),
        ),
      );
      return settled;
    };
    const one = ["BAD_CREDENTIALS", "BAD_CREDENTIALS", "BAD_CREDENTIALS", ...Array(7).fill("PIN_LOCKED")];
    // answered in parallel, the locked ones would come first for some names and last for others
    expect(await burst("out")).toEqual(one);
    expect(await burst("in")).toEqual(one);
    expect(await burst("ghost")).toEqual(one);
    // locked while logged in elsewhere: the right PIN is refused too, and waits its turn like any
    expect(await code(accounts.login(container, "in", pin("right-pin")))).toBe("PIN_LOCKED");
    accounts.release(session);
  });

  test("a locked user logged in elsewhere: a right and a wrong PIN take the same steps, so timing cannot tell them apart", async () => {
    await accounts.createUser(container, "in", pin("right-pin"));
    const session = await accounts.login(container, "in", pin("right-pin"));
    for (let i = 0; i < 3; i++) await code(accounts.login(container, "in", pin(`guess-${i}`)));
    const steps: string[] = [];
    const store = users as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const m of ["byName", "byId", "failedAttempts", "reserveAttempt", "resetAttempts"]) {
      const real = store[m]!.bind(users);
      store[m] = (...a: unknown[]) => {
        steps.push(m);
        return real(...a);
      };
    }
    const trace = async (p: string) => {
      steps.length = 0;
      const c = await code(accounts.login(container, "in", pin(p)));
      return [c, ...steps];
    };
    const right = await trace("right-pin");
    const wrong = await trace("wrong-pin");
    expect(right[0]).toBe("PIN_LOCKED");
    expect(right).toEqual(wrong);
    accounts.release(session);
  });

  test("a name no user can have is never remembered nor locked", async () => {
    const long = "x".repeat(5000);
    for (let i = 0; i < 5; i++)
      expect(await code(accounts.login(container, long, pin("any-pin")))).toBe("BAD_CREDENTIALS");
  });

  test("a user removed while its login waited in line is refused", async () => {
    await accounts.createUser(container, "u", pin("right-pin"));
    const first = accounts.login(container, "u", pin("wrong-pin"));
    const second = accounts.login(container, "u", pin("right-pin"));
    users.remove(users.byName(container.id, "u")!.id);
    expect(await code(first)).toBe("BAD_CREDENTIALS");
    expect(await code(second)).toBe("BAD_CREDENTIALS");
  });

  test("a PIN reset committed while a login derives its key: that login is refused and opens no vault", async () => {
    // a slower KDF for this user so the reset lands while the login is still deriving
    const slow = new Accounts(users, { maxPinAttempts: 3, kdfLogN: 14, keyCacheLimit: 100 }, master());
    const user = await slow.createUser(container, "u", pin("old-pin-1"));
    const reset = await wrapNewDataKey(container.name, "u", pin("new-pin-2"), 10);
    const login = slow.login(container, "u", pin("old-pin-1"));
    await Bun.sleep(5);
    users.rewrap(user.id, reset.kdf, reset.wrapped); // what the operator's reset-pin commits
    expect(await code(login)).toBe("BAD_CREDENTIALS");
    expect(slow.isOpen(user.id)).toBe(false);
    expect(await code(slow.login(container, "u", pin("new-pin-2")))).toBe("OK");
  });

  test("a PIN change: the old PIN fails at once, the new one works, also for logins needing the KDF", async () => {
    await accounts.createUser(container, "u", pin("old-pin-1"));
    const vault = await accounts.login(container, "u", pin("old-pin-1"));
    await accounts.changePin(vault, pin("old-pin-1"), pin("new-pin-2"));
    // vault still open: checked against the in-memory verifier
    expect(await code(accounts.login(container, "u", pin("old-pin-1")))).toBe("BAD_CREDENTIALS");
    const shared = await accounts.login(container, "u", pin("new-pin-2"));
    expect(shared).toBe(vault);
    accounts.release(vault);
    accounts.release(shared);
    // vault closed: checked by unwrapping the stored data key
    expect(await code(accounts.login(container, "u", pin("old-pin-1")))).toBe("BAD_CREDENTIALS");
    expect(await code(accounts.login(container, "u", pin("new-pin-2")))).toBe("OK");
  });

  test("a new PIN outside the policy is PIN_POLICY and costs no attempt", async () => {
    const user = await accounts.createUser(container, "u", pin("old-pin-1"));
    const vault = await accounts.login(container, "u", pin("old-pin-1"));
    expect(await code(accounts.changePin(vault, pin("old-pin-1"), pin("abc")))).toBe("PIN_POLICY");
    expect(users.failedAttempts(user.id)).toBe(0);
  });

  test("users are created once per container and name, with a PIN inside the policy", async () => {
    await accounts.createUser(container, "u", pin("right-pin"));
    expect(await code(accounts.createUser(container, "u", pin("right-pin")))).toBe("USER_EXISTS");
    expect(await code(accounts.createUser(container, "v", pin("123")))).toBe("PIN_POLICY");
    expect(await code(accounts.createUser(container, "bad name", pin("right-pin")))).toBe("BAD_ARGUMENTS");
    const both = await Promise.all([
      code(accounts.createUser(container, "w", pin("right-pin"))),
      code(accounts.createUser(container, "w", pin("right-pin"))),
    ]);
    expect(both.sort()).toEqual(["OK", "USER_EXISTS"]);
  });

  test("evict destroys an open vault at once", async () => {
    const user = await accounts.createUser(container, "u", pin("right-pin"));
    const vault = await accounts.login(container, "u", pin("right-pin"));
    expect(vault.checkPin(pin("right-pin"))).toBe(true);
    accounts.evict(user.id);
    expect(vault.alive).toBe(false);
    expect(accounts.openVaultCount()).toBe(0);
    // the PIN verifier is zeroed with the data key
    expect(vault.checkPin(pin("right-pin"))).toBe(false);
  });
});
