/**
 * Logins, PINs and lockout, against the real appliance started with `--max-pin-attempts 3`
 * (and a second one with 5 for the concurrency rule).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { VhsmClient } from "../agent/index.ts";
import { encodeFrame } from "../protocol/codec.ts";
import { MESSAGES, PROTOCOL_VERSION } from "../protocol/messages.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { opensslHmac } from "./support/openssl.ts";

let app: TestAppliance;
const C = "pins";

async function outcome(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
    return { code: "OK", message: "" };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { code: e.code ?? String(err), message: e.message ?? "" };
  }
}

/** Connects and logs in; resolves to the status name, closing the client on success. */
async function tryLogin(a: TestAppliance, container: string, user: string, pin: string): Promise<string> {
  const r = await outcome(a.client(container, user, pin).then((c) => c.close()));
  return r.code;
}

async function userRow(a: TestAppliance, container: string, user: string) {
  const r = await a.admin("GET", `/v1/containers/${container}/users`);
  return (r.json as { name: string; failedAttempts: number; locked: boolean; keys: number }[]).find(
    (u) => u.name === user,
  );
}

beforeAll(async () => {
  app = await startTestAppliance({ args: ["--max-pin-attempts", "3"] });
  await app.enroll(C);
});
afterAll(async () => {
  await app?.dispose();
});

describe("wrong PINs and lockout (max 3 attempts)", () => {
  test("a wrong PIN fails with BAD_CREDENTIALS; the failed attempts are counted for the operator, not told to the guesser", async () => {
    await app.addUser(C, "wrong", "right-pin");
    const first = await outcome(app.client(C, "wrong", "not-the-pin"));
    expect(first.code).toBe("BAD_CREDENTIALS");
    expect(first.message).toBe("wrong user or PIN");
    const second = await outcome(app.client(C, "wrong", "not-the-pin"));
    expect(second.message).toBe("wrong user or PIN");
    expect((await userRow(app, C, "wrong"))?.failedAttempts).toBe(2);
  });

  test("a right PIN resets the failed-attempt counter", async () => {
    await app.addUser(C, "resets", "right-pin");
    expect(await tryLogin(app, C, "resets", "bad-pin-1")).toBe("BAD_CREDENTIALS");
    expect(await tryLogin(app, C, "resets", "bad-pin-2")).toBe("BAD_CREDENTIALS");
    expect(await tryLogin(app, C, "resets", "right-pin")).toBe("OK");
    expect((await userRow(app, C, "resets"))?.failedAttempts).toBe(0);
    expect(await tryLogin(app, C, "resets", "bad-pin-3")).toBe("BAD_CREDENTIALS");
    expect(await tryLogin(app, C, "resets", "bad-pin-4")).toBe("BAD_CREDENTIALS");
    expect(await tryLogin(app, C, "resets", "right-pin")).toBe("OK");
  });

  test("after 3 wrong PINs the user is locked: even the right PIN fails with PIN_LOCKED until an admin unlocks", async () => {
    await app.addUser(C, "locked", "right-pin");
    for (let i = 0; i < 3; i++) expect(await tryLogin(app, C, "locked", `bad-${i}`)).toBe("BAD_CREDENTIALS");
    expect(await tryLogin(app, C, "locked", "right-pin")).toBe("PIN_LOCKED");
    expect(await tryLogin(app, C, "locked", "bad-again")).toBe("PIN_LOCKED");
    expect(await userRow(app, C, "locked")).toMatchObject({ failedAttempts: 3, locked: true });

    const unlock = await app.admin("POST", `/v1/containers/${C}/users/locked/unlock`);
    expect(unlock.status).toBe(200);
    expect(await userRow(app, C, "locked")).toMatchObject({ failedAttempts: 0, locked: false });
    expect(await tryLogin(app, C, "locked", "right-pin")).toBe("OK");
  });

  test("a lockout survives a restart of the appliance", async () => {
    await app.addUser(C, "durable-lock", "right-pin");
    for (let i = 0; i < 3; i++) await tryLogin(app, C, "durable-lock", `bad-${i}`);
    await app.restart();
    expect(await tryLogin(app, C, "durable-lock", "right-pin")).toBe("PIN_LOCKED");
  });

  test("lockout also applies while the user is logged in on another connection", async () => {
    await app.addUser(C, "busy", "right-pin");
    const holder = await app.client(C, "busy", "right-pin");
    try {
      for (let i = 0; i < 3; i++) expect(await tryLogin(app, C, "busy", `bad-${i}`)).toBe("BAD_CREDENTIALS");
      expect(await tryLogin(app, C, "busy", "right-pin")).toBe("PIN_LOCKED");
      await holder.ping(); // an existing session is not ended by other people's guesses
    } finally {
      holder.close();
      await app.admin("POST", `/v1/containers/${C}/users/busy/unlock`);
    }
  });

  test("an unknown user fails with BAD_CREDENTIALS, the same code and wording as a wrong PIN", async () => {
    await app.addUser(C, "known", "right-pin");
    const unknown = await outcome(app.client(C, "nobody-here", "right-pin"));
    const wrong = await outcome(app.client(C, "known", "wrong-pin"));
    expect(unknown.code).toBe("BAD_CREDENTIALS");
    expect(wrong.code).toBe("BAD_CREDENTIALS");
    expect(wrong.message).toBe(unknown.message);
    expect(unknown.message).not.toContain("nobody-here");
  });

  test("a wrong PIN for a user logged in elsewhere takes as long as one for an unknown user", async () => {
    await app.addUser(C, "active", "right-pin");
    const holder = await app.client(C, "active", "right-pin"); // its vault is open: the fast path
    try {
      const timed = async (user: string) => {
        const t = performance.now();
        const r = await outcome(app.client(C, user, "wrong-pin"));
        expect(r.code).toBe("BAD_CREDENTIALS");
        return performance.now() - t;
      };
      const unknown = Math.min(await timed("no-such-user"), await timed("no-such-user"));
      const active = Math.min(await timed("active"), await timed("active"));
      // the dummy KDF dominates both; without it the open-vault refusal took ~2 ms against ~60
      expect(active).toBeGreaterThan(unknown / 3);
    } finally {
      holder.close();
      await app.admin("POST", `/v1/containers/${C}/users/active/unlock`);
    }
  });

  test("a malformed PIN at login is BAD_CREDENTIALS too, and still counts", async () => {
    await app.addUser(C, "shortpin", "right-pin");
    expect(await tryLogin(app, C, "shortpin", "x")).toBe("BAD_CREDENTIALS");
    expect((await userRow(app, C, "shortpin"))?.failedAttempts).toBe(1);
  });
});

describe("sessions that end early", () => {
  test("a client that hangs up while its LOGIN is being checked leaves no vault open", async () => {
    await app.addUser(C, "hangup", "right-pin");
    const hello = encodeFrame(MESSAGES.HELLO.opcode, 0, 0, 1, MESSAGES.HELLO.request, {
      minVersion: PROTOCOL_VERSION,
      maxVersion: PROTOCOL_VERSION,
      client: "hangs-up",
    });
    const login = encodeFrame(MESSAGES.LOGIN.opcode, 0, 0, 2, MESSAGES.LOGIN.request, {
      user: "hangup",
      pin: Buffer.from("right-pin"),
    });
    for (let i = 0; i < 3; i++) {
      const sock = await Bun.connect({ unix: app.socketOf(C), socket: { data() {} } });
      sock.write(Buffer.concat([hello, login]));
      sock.end(); // gone before the KDF finishes
    }
    await Bun.sleep(300);
    const users = (await app.admin("GET", `/v1/containers/${C}/users`)).json as {
      name: string;
      loggedIn: boolean;
    }[];
    expect(users.find((u) => u.name === "hangup")?.loggedIn).toBe(false);
  });
});

describe("concurrent logins", () => {
  let app5: TestAppliance;
  beforeAll(async () => {
    app5 = await startTestAppliance({ args: ["--max-pin-attempts", "5"] });
    await app5.enroll("race");
  });
  afterAll(async () => {
    await app5?.dispose();
  });

  test("20 wrong PINs at once on 20 connections (max 5): exactly 5 BAD_CREDENTIALS, the rest PIN_LOCKED", async () => {
    await app5.addUser("race", "target", "right-pin");
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => tryLogin(app5, "race", "target", `guess-${i}`)),
    );
    expect(results.filter((r) => r === "BAD_CREDENTIALS").length).toBe(5);
    expect(results.filter((r) => r === "PIN_LOCKED").length).toBe(15);
    expect((await userRow(app5, "race", "target"))?.failedAttempts).toBe(5);
    expect(await tryLogin(app5, "race", "target", "right-pin")).toBe("PIN_LOCKED");
    expect((await userRow(app5, "race", "target"))?.failedAttempts).toBe(5);
  });

  test("many right-PIN logins at once (more than the attempt limit) all succeed and share one vault", async () => {
    await app5.addUser("race", "pool", "right-pin");
    const clients = await Promise.all(
      Array.from({ length: 12 }, () => app5.client("race", "pool", "right-pin")),
    );
    try {
      const id = await clients[0]!.keys.generate();
      const macs = await Promise.all(clients.map((c) => c.hmac(id, "sha256", Buffer.from("same"))));
      for (const m of macs) expect(m).toEqual(macs[0]!);
      expect((await userRow(app5, "race", "pool"))?.failedAttempts).toBe(0);
    } finally {
      for (const c of clients) c.close();
    }
  });
});

describe("PIN change", () => {
  test("the old PIN stops working, the new one works, keys stay usable, and it survives a restart", async () => {
    await app.addUser(C, "changer", "old-pin-1");
    const secret = randomBytes(32);
    const data = Buffer.from("message");
    const expected = opensslHmac("sha256", secret, data);
    const c = await app.client(C, "changer", "old-pin-1");
    await c.keys.import(secret, { id: "mine" });
    await c.changePin("old-pin-1", "new-pin-2");
    expect((await c.hmac("mine", "sha256", data)).toString("hex")).toBe(expected);
    c.close();

    expect(await tryLogin(app, C, "changer", "old-pin-1")).toBe("BAD_CREDENTIALS");
    await app.restart();
    expect(await tryLogin(app, C, "changer", "old-pin-1")).toBe("BAD_CREDENTIALS");
    const after = await app.client(C, "changer", "new-pin-2");
    try {
      expect((await after.hmac("mine", "sha256", data)).toString("hex")).toBe(expected);
    } finally {
      after.close();
    }
  });

  test("the old PIN also stops working for a user who is still logged in elsewhere", async () => {
    await app.addUser(C, "shared", "old-pin-1");
    const stays = await app.client(C, "shared", "old-pin-1");
    const changer = await app.client(C, "shared", "old-pin-1");
    try {
      await changer.changePin("old-pin-1", "new-pin-2");
      expect(await tryLogin(app, C, "shared", "old-pin-1")).toBe("BAD_CREDENTIALS");
      expect(await tryLogin(app, C, "shared", "new-pin-2")).toBe("OK");
      await stays.ping();
    } finally {
      stays.close();
      changer.close();
    }
  });

  test("a wrong old PIN fails with BAD_CREDENTIALS, counts as an attempt, and changes nothing", async () => {
    await app.addUser(C, "guesser", "real-pin");
    const c = await app.client(C, "guesser", "real-pin");
    try {
      expect((await outcome(c.changePin("guessed", "new-pin-2"))).code).toBe("BAD_CREDENTIALS");
      expect((await userRow(app, C, "guesser"))?.failedAttempts).toBe(1);
    } finally {
      c.close();
    }
    expect(await tryLogin(app, C, "guesser", "new-pin-2")).toBe("BAD_CREDENTIALS");
    expect(await tryLogin(app, C, "guesser", "real-pin")).toBe("OK");
  });

  test("a new PIN outside 4..64 bytes fails with PIN_POLICY and changes nothing", async () => {
    await app.addUser(C, "policy", "real-pin");
    const c = await app.client(C, "policy", "real-pin");
    try {
      expect((await outcome(c.changePin("real-pin", "abc"))).code).toBe("PIN_POLICY");
      expect((await outcome(c.changePin("real-pin", "x".repeat(65)))).code).toBe("PIN_POLICY");
    } finally {
      c.close();
    }
    expect(await tryLogin(app, C, "policy", "real-pin")).toBe("OK");
  });

  test("a client that changed its PIN logs in again with the new PIN after a reconnect", async () => {
    await app.addUser(C, "recon", "old-pin-1");
    const c = await app.client(C, "recon", "old-pin-1", 10_000);
    try {
      const id = await c.keys.generate();
      await c.changePin("old-pin-1", "new-pin-2");
      await app.restart();
      expect((await c.hmac(id, "sha1", Buffer.from("x"))).length).toBe(20);
    } finally {
      c.close();
    }
  });
});

describe("operator actions on users", () => {
  test("reset-pin without destroyKeys fails with CONFIRMATION_REQUIRED and changes nothing", async () => {
    await app.addUser(C, "forgetful", "old-pin-1");
    const c = await app.client(C, "forgetful", "old-pin-1");
    const id = await c.keys.generate();
    for (const body of [{ pin: "new-pin-2" }, { pin: "new-pin-2", destroyKeys: false }]) {
      const r = await app.admin("POST", `/v1/containers/${C}/users/forgetful/reset-pin`, body);
      expect(r.status).toBe(409);
      expect(r.json.error.code).toBe("CONFIRMATION_REQUIRED");
    }
    expect(await c.keys.count()).toBe(1);
    expect((await c.hmac(id, "sha1", Buffer.from("x"))).length).toBe(20);
    c.close();
    expect(await tryLogin(app, C, "forgetful", "new-pin-2")).toBe("BAD_CREDENTIALS");
    expect(await tryLogin(app, C, "forgetful", "old-pin-1")).toBe("OK");
  });

  test("reset-pin with destroyKeys sets the new PIN, destroys the keys, ends sessions and unlocks", async () => {
    await app.addUser(C, "reset", "old-pin-1");
    const c = await app.client(C, "reset", "old-pin-1");
    await c.keys.generate({ id: "gone-1" });
    await c.keys.generate({ id: "gone-2" });
    for (let i = 0; i < 3; i++) await tryLogin(app, C, "reset", `bad-${i}`);
    expect((await userRow(app, C, "reset"))?.locked).toBe(true);

    const r = await app.admin("POST", `/v1/containers/${C}/users/reset/reset-pin`, {
      pin: "new-pin-2",
      destroyKeys: true,
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ pinReset: true, keysDestroyed: 2 });
    expect((await outcome(c.ping())).code).toBe("CONNECTION_LOST");
    c.close();

    expect(await tryLogin(app, C, "reset", "old-pin-1")).toBe("BAD_CREDENTIALS");
    const fresh = await app.client(C, "reset", "new-pin-2");
    try {
      expect(await fresh.keys.count()).toBe(0);
      expect((await outcome(fresh.keys.info("gone-1"))).code).toBe("KEY_NOT_FOUND");
      await fresh.keys.generate({ id: "gone-1" }); // the id is free again
    } finally {
      fresh.close();
    }
  });

  test("removing a user ends that user's sessions at once and leaves other users' sessions alone", async () => {
    await app.addUser(C, "leaving", "leave-pin");
    await app.addUser(C, "staying", "stay-pin");
    const leaving = await app.client(C, "leaving", "leave-pin");
    const staying = await app.client(C, "staying", "stay-pin");
    const anon = await VhsmClient.connect({ socket: app.socketOf(C), reconnectTimeoutMs: 0 });
    try {
      await leaving.keys.generate();
      const refused = await app.admin("DELETE", `/v1/containers/${C}/users/leaving`);
      expect(refused.status).toBe(409);
      expect(refused.json.error.code).toBe("CONFIRMATION_REQUIRED");
      await leaving.ping();

      const r = await app.admin("DELETE", `/v1/containers/${C}/users/leaving?confirm=true`);
      expect(r.json).toMatchObject({ removed: true, keysDestroyed: 1 });
      expect((await outcome(leaving.ping())).code).toBe("CONNECTION_LOST");
      await staying.ping();
      await anon.ping();
      expect(await tryLogin(app, C, "leaving", "leave-pin")).toBe("BAD_CREDENTIALS");
    } finally {
      leaving.close();
      staying.close();
      anon.close();
    }
  });

  test("a re-added user of the same name does not see the removed user's keys", async () => {
    await app.addUser(C, "again", "first-pin");
    const first = await app.client(C, "again", "first-pin");
    await first.keys.generate({ id: "old-key" });
    first.close();
    await app.admin("DELETE", `/v1/containers/${C}/users/again?confirm=true`);
    await app.addUser(C, "again", "second-pin");
    const second = await app.client(C, "again", "second-pin");
    try {
      expect(await second.keys.count()).toBe(0);
      expect((await outcome(second.keys.info("old-key"))).code).toBe("KEY_NOT_FOUND");
    } finally {
      second.close();
    }
  });
});
