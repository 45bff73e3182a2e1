import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { KeyType } from "../../protocol/messages.ts";
import { seal } from "./crypto/aead.ts";
import { type KeyRow, LEGACY_SEAL_FORMAT, SEAL_FORMAT } from "./store/keys.ts";
import { keyAad, type LoadedKey, pinVerifier, UserVault } from "./vault.ts";

/** A vault with a tiny cache, and a sealed HMAC key row per (key id, version). */
function setup(limit: number) {
  const dropped: string[] = [];
  const resealed: { row: KeyRow; material: Uint8Array }[] = [];
  const dataKey = randomBytes(32);
  const vault = new UserVault(
    1,
    "c",
    "u",
    Buffer.from(dataKey),
    pinVerifier(Buffer.from("pin")),
    limit,
    (k) => dropped.push(`${k.keyId}#${k.version}`),
    (row, material) => resealed.push({ row, material }),
  );
  let id = 1;
  const created = 1_700_000_000_000;
  const row = (keyId: string, version = 1): KeyRow => {
    const policy = { usage: 0xffff, flags: 0, min_version: 0, rotate_every: 0 };
    const fields = { keyId, version, type: KeyType.HMAC, created, policy };
    const material = vault.sealKey(fields, randomBytes(32));
    return {
      id: id++,
      user_id: 1,
      key_id: keyId,
      version,
      type: KeyType.HMAC,
      bits: 256,
      material,
      created,
      last_used: 0,
      use_count: 0,
      seal: SEAL_FORMAT,
      ...policy,
    };
  };
  /** A row as an appliance before seal format 3 wrote it. */
  const legacyRow = (keyId: string): KeyRow => {
    const r = row(keyId);
    const fields = { keyId, version: 1, type: KeyType.HMAC, created, policy: r };
    const aad = keyAad("c", "u", fields, LEGACY_SEAL_FORMAT);
    return { ...r, material: seal(dataKey, randomBytes(32), aad), seal: LEGACY_SEAL_FORMAT };
  };
  return { vault, row, legacyRow, dropped, resealed };
}

const tampered = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return "opened";
};

test("a key's creation time and rotation period are sealed: editing either, or marking the row legacy, is TAMPERED", () => {
  const { vault, row } = setup(10);
  expect(tampered(() => vault.openKey(row("a")))).toBe("opened");
  expect(tampered(() => vault.openKey({ ...row("a"), rotate_every: 0x7fffffff }))).toBe("TAMPERED");
  expect(tampered(() => vault.openKey({ ...row("a"), created: Date.now() + 1e12 }))).toBe("TAMPERED");
  expect(tampered(() => vault.openKey({ ...row("a"), seal: LEGACY_SEAL_FORMAT }))).toBe("TAMPERED");
  expect(tampered(() => vault.openKey({ ...row("a"), seal: 7 }))).toBe("TAMPERED");
});

test("a row sealed before format 3 opens for a user not yet upgraded, and is resealed once in the current format, which binds it", () => {
  const { vault, legacyRow, resealed } = setup(10);
  vault.acceptsLegacyRows = true; // the user's data key is still in the legacy wrap
  const old = legacyRow("a");
  const before = vault.openKey(old);
  expect(resealed).toHaveLength(1);
  expect(resealed[0]!.row).toBe(old);
  const upgraded: KeyRow = { ...old, material: resealed[0]!.material, seal: SEAL_FORMAT };
  expect(vault.openKey(upgraded).equals(before)).toBe(true);
  expect(resealed).toHaveLength(1); // the upgraded row is not resealed again
  expect(tampered(() => vault.openKey({ ...upgraded, rotate_every: 60 }))).toBe("TAMPERED");
  // what format 2 never bound, it still does not: the reason to reseal
  expect(tampered(() => vault.openKey({ ...old, rotate_every: 60 }))).toBe("opened");
  // once the user is upgraded (every row resealed, the data key rewrapped), format 2 is refused
  vault.acceptsLegacyRows = false;
  expect(tampered(() => vault.openKey(old))).toBe("TAMPERED");
});

test("a column holding something else than an integer (TEXT '9' for a version) is TAMPERED", () => {
  const { vault, row } = setup(10);
  const r = row("a", 9);
  expect(tampered(() => vault.openKey(r))).toBe("opened");
  for (const f of ["version", "min_version", "created", "seal"] as const)
    expect(tampered(() => vault.openKey({ ...r, [f]: String(r[f]) } as unknown as typeof r))).toBe(
      "TAMPERED",
    );
  // material that is not a blob (TEXT or INTEGER in the column): TAMPERED, not a TypeError
  for (const material of ["text", 42])
    expect(tampered(() => vault.openKey({ ...r, material } as unknown as typeof r))).toBe("TAMPERED");
});

const ids = (keys: (LoadedKey | undefined)[]) => keys.map((k) => (k ? `${k.keyId}#${k.version}` : "-"));

test("the newest version and explicit versions come from the cache once loaded", () => {
  const { vault, row } = setup(10);
  expect(vault.cached("a")).toBeUndefined();
  const a1 = vault.load(row("a", 1), false);
  const a2 = vault.load(row("a", 2), true);
  expect(vault.cached("a")).toBe(a2);
  expect(vault.cached("a", 1)).toBe(a1);
  expect(vault.cached("a", 3)).toBeUndefined();
});

test("a full cache evicts the oldest key not used since the hand last passed", () => {
  const { vault, row, dropped } = setup(3);
  vault.load(row("a"), true);
  vault.load(row("b"), true);
  vault.load(row("c"), true);
  // all were used (loaded): the hand clears every mark and the oldest goes
  vault.load(row("d"), true);
  expect(dropped).toEqual(["a#1"]);
  vault.cached("b"); // b is now the oldest, but in use
  vault.load(row("e"), true);
  expect(dropped).toEqual(["a#1", "c#1"]);
  expect(ids(["a", "b", "c", "d", "e"].map((k) => vault.cached(k)))).toEqual(["-", "b#1", "-", "d#1", "e#1"]);
});

test("forget drops every cached version of a key and reports each", () => {
  const { vault, row, dropped } = setup(10);
  vault.load(row("a", 1), false);
  vault.load(row("a", 2), true);
  vault.load(row("b", 1), true);
  vault.forget("a");
  expect(dropped.sort()).toEqual(["a#1", "a#2"]);
  expect(ids([vault.cached("a"), vault.cached("a", 1), vault.cached("b")])).toEqual(["-", "-", "b#1"]);
});

test("loading a cached version again replaces it and reports the old copy dropped", () => {
  const { vault, row, dropped } = setup(10);
  const first = vault.load(row("a"), true);
  const second = vault.load(row("a"), true);
  expect(second).not.toBe(first);
  expect(vault.cached("a")).toBe(second);
  expect(dropped).toEqual(["a#1"]);
});

test("destroy reports every cached key dropped and refuses further use", () => {
  const { vault, row, dropped } = setup(10);
  vault.load(row("a"), true);
  vault.load(row("b"), true);
  vault.destroy();
  expect(dropped.sort()).toEqual(["a#1", "b#1"]);
  expect(() => vault.cached("a")).toThrow("closed");
});
