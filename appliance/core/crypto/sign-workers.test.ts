import { afterAll, expect, test } from "bun:test";
import { generateKeyPairSync, verify } from "node:crypto";
import { SignWorkers, WorkerScheme } from "./sign-workers.ts";

const workers = new SignWorkers(1);
afterAll(() => workers.stop());

const settle = () => new Promise((r) => setTimeout(r, 50));

test("the first signatures of a turn stay on the main thread, the next go to the worker", async () => {
  expect([workers.pick(), workers.pick(), workers.pick(), workers.pick(), workers.pick()]).toEqual([
    -1, -1, -1, -1, 0,
  ]);
  await settle();
  expect(workers.pick()).toBe(-1); // a new turn
  await settle();
});

test("a worker signs with the key it was sent, and drops it when the vault does", async () => {
  const a = generateKeyPairSync("ed25519");
  const b = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const message = new Uint8Array([1, 2, 3]);
  const [sa, sb] = await Promise.all([
    workers.sign(0, a.privateKey, WorkerScheme.ED25519, 0, message),
    workers.sign(0, b.privateKey, WorkerScheme.ECDSA_DER, 1, message),
  ]);
  expect(verify(null, message, a.publicKey, sa)).toBe(true);
  expect(verify("sha256", message, b.publicKey, sb)).toBe(true);
  expect(workers.heldKeys()).toBe(2);

  workers.release(a.privateKey);
  await settle();
  expect(workers.heldKeys()).toBe(1);
  // a released key is simply sent again when it is used again
  const again = await workers.sign(0, a.privateKey, WorkerScheme.ED25519, 0, message);
  expect(verify(null, message, a.publicKey, again)).toBe(true);
  expect(workers.heldKeys()).toBe(2);
  workers.release(a.privateKey);
  workers.release(b.privateKey);
  await settle();
  expect(workers.heldKeys()).toBe(0);
});

test("a signature the worker cannot make is refused as INTERNAL, not lost", async () => {
  const ed = generateKeyPairSync("ed25519"); // an Ed25519 key asked for RSA-PSS
  const err = await workers
    .sign(0, ed.privateKey, WorkerScheme.RSA_PSS, 1, new Uint8Array(3))
    .catch((e) => e);
  expect(err.code).toBe("INTERNAL");
});
