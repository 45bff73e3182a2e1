/**
 * User accounts: creation, PIN login (with atomic lockout), PIN change, and the open vaults.
 * A PIN never leaves this module: it is checked by unwrapping the user's data key with a key
 * derived from it (scrypt), or against the in-memory verifier while the user has a vault open.
 */
import { randomBytes } from "node:crypto";
import { Status, VhsmError } from "../../protocol/status.ts";
import { seal } from "./crypto/aead.ts";
import { deriveKey, newKdfParams, parseKdfParams } from "./crypto/kdf.ts";
import { checkPin, checkUserName, validUserName } from "./ids.ts";
import { isServiceUser, type MasterKey, SERVICE_KDF } from "./master-key.ts";
import type { ContainerRow } from "./store/containers.ts";
import type { KeyRow } from "./store/keys.ts";
import type { UserRow, UserStore } from "./store/users.ts";
import {
  dataKeyAad,
  LEGACY_WRAP,
  type LoadedKey,
  openDataKey,
  pinVerifier,
  serviceKeyAad,
  UserVault,
} from "./vault.ts";

export interface AccountsOptions {
  maxPinAttempts: number;
  kdfLogN: number;
  keyCacheLimit: number;
  /** Called for each decrypted key a vault lets go of (evicted, forgotten, or the vault closed). */
  keyDropped?: (key: LoadedKey) => void;
  /** Called with a legacy key row opened by a vault and its material resealed in the current format. */
  keyResealed?: (row: KeyRow, material: Uint8Array) => void;
  /**
   * Upgrades a user from before seal format 3 at its first unlock: opens (so reseals) every format-2
   * row of the vault's user, then calls `finish` (which rewraps the data key), all in one transaction;
   * throws to leave the user as it was.
   */
  upgradeUser?: (vault: UserVault, finish: () => void) => void;
}

export class Accounts {
  private readonly vaults = new Map<number, UserVault>();
  /** The last queued PIN check per user id, or per ghost key for names that are no user (see `login`). */
  private readonly checking = new Map<number | string, Promise<void>>();
  /** A fixed dummy user so that an unknown user name costs the same KDF time as a real one. */
  private readonly dummyKdf = newKdfParams();
  /**
   * Wrong guesses at names that are no user, by container id and name: such a name is locked after
   * maxPinAttempts of them, like a real user, so that PIN_LOCKED does not tell a guesser which names
   * exist. In memory and bounded (the oldest forgotten first): what it costs to flush it, a KDF per
   * name, is what a guesser would spend to tell them apart.
   */
  private readonly ghostAttempts = new Map<string, number>();

  constructor(
    private readonly users: UserStore,
    private readonly options: AccountsOptions,
    private readonly masterKey: MasterKey,
  ) {
    this.dummyKdf.logN = options.kdfLogN;
  }

  async createUser(container: ContainerRow, name: string, pin: Uint8Array): Promise<UserRow> {
    checkUserName(name);
    checkPin(pin);
    if (this.users.byName(container.id, name)) {
      throw new VhsmError(Status.USER_EXISTS, `user ${name} already exists in container ${container.name}`);
    }
    const { kdf, wrapped } = await wrapNewDataKey(container.name, name, pin, this.options.kdfLogN);
    // re-check after the await: a concurrent request may have created the same user
    if (this.users.byName(container.id, name)) {
      throw new VhsmError(Status.USER_EXISTS, `user ${name} already exists in container ${container.name}`);
    }
    let id: number;
    try {
      id = this.users.create(container.id, name, kdf, wrapped);
      this.ghostAttempts.delete(ghostKey(container, name));
    } catch (err) {
      // the container may have been wiped while the KDF ran: its row is gone (FOREIGN KEY failure)
      if (/FOREIGN KEY/i.test((err as Error)?.message ?? "")) {
        throw new VhsmError(Status.CONTAINER_NOT_FOUND, `no container named ${container.name}`);
      }
      throw err;
    }
    return this.users.byId(id)!;
  }

  /**
   * A service user has no PIN: its data key is wrapped by the appliance master key, and it logs in
   * (with an empty PIN) only through its own container's socket.
   */
  createServiceUser(container: ContainerRow, name: string): UserRow {
    checkUserName(name);
    if (this.users.byName(container.id, name)) {
      throw new VhsmError(Status.USER_EXISTS, `user ${name} already exists in container ${container.name}`);
    }
    const dataKey = randomBytes(32);
    const wrapped = seal(this.masterKey.get(true), dataKey, serviceKeyAad(container.name, name));
    dataKey.fill(0);
    const id = this.users.create(container.id, name, SERVICE_KDF, wrapped);
    this.ghostAttempts.delete(ghostKey(container, name));
    return this.users.byId(id)!;
  }

  private openServiceVault(container: ContainerRow, user: UserRow, pin: Uint8Array): UserVault {
    if (pin.length !== 0) throw new VhsmError(Status.BAD_CREDENTIALS, "service users log in without a PIN");
    const open_ = this.vaults.get(user.id);
    if (open_) {
      open_.sessions++;
      return open_;
    }
    const master = this.masterKey.get(false);
    const opened = openDataKey(master, user.wrapped_key, (w) => serviceKeyAad(container.name, user.name, w));
    if (!opened)
      throw new VhsmError(Status.TAMPERED, `the data key of service user ${user.name} does not open`);
    return this.openVault(container, user, opened, pin, (v) => v.wrapServiceKey(master));
  }

  /**
   * A new vault around an unwrapped data key, with its first session. A user from before seal format
   * 3 (LEGACY_WRAP) is upgraded first: every row resealed, then the data key rewrapped (`rewrap`, with
   * the key that unwrapped it) so that format 2 is refused from then on (vault.ts).
   */
  private openVault(
    container: ContainerRow,
    user: UserRow,
    opened: { dataKey: Buffer; wrap: number },
    pin: Uint8Array,
    rewrap: (vault: UserVault) => Uint8Array,
  ): UserVault {
    const vault = new UserVault(
      user.id,
      container.name,
      user.name,
      opened.dataKey,
      pinVerifier(pin),
      this.options.keyCacheLimit,
      this.options.keyDropped,
      this.options.keyResealed,
      opened.wrap === LEGACY_WRAP,
    );
    if (vault.acceptsLegacyRows && this.options.upgradeUser) {
      try {
        this.options.upgradeUser(vault, () => {
          vault.acceptsLegacyRows = false;
          this.users.rewrap(user.id, user.kdf, rewrap(vault));
        });
      } catch {
        vault.acceptsLegacyRows = true; // the upgrade was rolled back: the next login tries again
      }
    }
    vault.sessions = 1;
    this.vaults.set(user.id, vault);
    return vault;
  }

  /**
   * Checks the PIN and returns the user's vault (opened or shared); the caller must `release` it.
   *
   * Every check that can fail waits its turn, one at a time per name (`inTurn`), and reserves its
   * attempt when its turn comes: a user not logged in (whose check is a KDF), one logged in elsewhere
   * given a wrong PIN, and a name that is no user (a dummy KDF) then answer a burst of guesses alike,
   * one KDF time apart, the locked ones last; answered in parallel, the bursts would tell which names
   * exist. The right PIN of a user logged in elsewhere is the one fast path (a pool of connections
   * starting), and only when an attempt is left: a locked user waits its turn whatever the PIN, so
   * the answer's timing never says whether a PIN is right.
   */
  async login(container: ContainerRow, name: string, pin: Uint8Array): Promise<UserVault> {
    const user = this.users.byName(container.id, name);
    if (!user) return this.inTurn(ghostKey(container, name), () => this.guessedName(container, name, pin));
    if (isServiceUser(user.kdf)) return this.openServiceVault(container, user, pin);
    const max = this.options.maxPinAttempts;
    const open_ = this.vaults.get(user.id);
    // a locked user never reaches the PIN check here: whatever runs after it (the attempt's write)
    // would time the PIN's rightness, with unlimited free guesses
    if (
      open_ &&
      this.users.failedAttempts(user.id) < max &&
      open_.checkPin(pin) &&
      this.users.reserveAttempt(user.id, max)
    ) {
      return this.admit(open_, user.id);
    }
    return this.inTurn(user.id, () => this.unlockVault(container, name, pin));
  }

  /** A right PIN for an open vault: the attempt reserved for it is given back, one more session. */
  private admit(vault: UserVault, userId: number): UserVault {
    this.users.resetAttempts(userId);
    vault.sessions++;
    return vault;
  }

  /** Runs `check` after the checks queued before it under the same key (a user id, or a ghost's key). */
  private async inTurn<T>(key: number | string, check: () => Promise<T>): Promise<T> {
    const turn = (this.checking.get(key) ?? Promise.resolve()).then(check);
    const tail = turn.then(
      () => {},
      () => {},
    );
    this.checking.set(key, tail);
    try {
      return await turn;
    } finally {
      if (this.checking.get(key) === tail) this.checking.delete(key);
    }
  }

  /**
   * A login as a name that is no user: as slow as a wrong PIN, and locked like a user's after as many
   * (ghostAttempts). A name no user can have (checkUserName) is not remembered: it tells nothing.
   */
  private async guessedName(container: ContainerRow, name: string, pin: Uint8Array): Promise<never> {
    // the store reads a user's check makes in its turn (unlockVault), so that a locked name that is
    // no user answers as fast as a locked user, not a lookup faster (free samples once locked)
    this.users.byName(container.id, name);
    this.users.reserveAttempt(0, this.options.maxPinAttempts);
    if (validUserName(name)) {
      const key = ghostKey(container, name);
      const attempts = this.ghostAttempts.get(key) ?? 0;
      if (attempts >= this.options.maxPinAttempts) throw this.locked(name);
      this.ghostAttempts.set(key, attempts + 1);
      if (this.ghostAttempts.size > MAX_GHOSTS)
        this.ghostAttempts.delete(this.ghostAttempts.keys().next().value!);
    }
    await deriveKey(pin, this.dummyKdf);
    throw this.wrongPin();
  }

  /** A user's PIN check in its turn (see `login`). */
  private async unlockVault(container: ContainerRow, name: string, pin: Uint8Array): Promise<UserVault> {
    // read again: the user may have been removed, reset or logged in while this login waited
    const user = this.users.byName(container.id, name);
    if (!user) throw new VhsmError(Status.BAD_CREDENTIALS, "wrong user or PIN");
    if (!this.users.reserveAttempt(user.id, this.options.maxPinAttempts)) throw this.locked(name);
    const params = parseKdfParams(user.kdf);
    const open_ = this.vaults.get(user.id);
    if (open_) {
      if (open_.checkPin(pin)) return this.admit(open_, user.id);
      // as slow as a closed vault's wrong PIN (with the user's own KDF cost): a fast refusal would
      // tell that the user is logged in
      await deriveKey(pin, params);
      throw this.wrongPin();
    }
    const kek = await deriveKey(pin, params);
    try {
      const opened = openDataKey(kek, user.wrapped_key, (w) => dataKeyAad(container.name, name, w));
      if (!opened) throw this.wrongPin();
      let kept = false;
      try {
        // an operator's PIN reset (or removal) committed during the KDF makes this data key stale
        const now = this.users.byId(user.id);
        if (!now || !Buffer.from(now.wrapped_key).equals(Buffer.from(user.wrapped_key))) {
          throw new VhsmError(Status.BAD_CREDENTIALS, "wrong user or PIN");
        }
        this.users.resetAttempts(user.id);
        const raced = this.vaults.get(user.id);
        if (raced) {
          raced.sessions++;
          return raced;
        }
        kept = true; // the vault owns the data key from here (and zeroes it when it closes)
        return this.openVault(container, user, opened, pin, (v) => v.wrapDataKey(kek));
      } finally {
        if (!kept) opened.dataKey.fill(0);
      }
    } finally {
      kek.fill(0);
    }
  }

  release(vault: UserVault): void {
    vault.sessions--;
    if (vault.sessions <= 0 && this.vaults.get(vault.userId) === vault) {
      this.vaults.delete(vault.userId);
      vault.destroy();
    }
  }

  /** Rewraps the data key under the new PIN; the old PIN stops working at once. */
  async changePin(vault: UserVault, oldPin: Uint8Array, newPin: Uint8Array): Promise<void> {
    checkPin(newPin);
    const user = this.users.byId(vault.userId);
    if (!user) throw new VhsmError(Status.BAD_SESSION, "the user no longer exists");
    if (isServiceUser(user.kdf))
      throw new VhsmError(Status.NOT_AUTHORISED, "service users have no PIN to change");
    if (!this.users.reserveAttempt(user.id, this.options.maxPinAttempts)) throw this.locked(user.name);
    if (!vault.checkPin(oldPin)) throw this.wrongPin();
    this.users.resetAttempts(user.id);
    const params = newKdfParams(this.options.kdfLogN);
    const kek = await deriveKey(newPin, params);
    let wrapped: Uint8Array;
    try {
      wrapped = vault.wrapDataKey(kek);
    } finally {
      kek.fill(0);
    }
    this.users.rewrap(user.id, JSON.stringify(params), wrapped);
    vault.setPin(newPin);
  }

  /** Forgets an open vault at once (user removed, PIN reset, container revoked). */
  evict(userId: number): void {
    const vault = this.vaults.get(userId);
    if (vault) {
      this.vaults.delete(userId);
      vault.destroy();
    }
  }

  isOpen(userId: number): boolean {
    return this.vaults.has(userId);
  }

  openVaultCount(): number {
    return this.vaults.size;
  }

  private locked(name: string): VhsmError {
    return new VhsmError(
      Status.PIN_LOCKED,
      `user ${name} is locked after ${this.options.maxPinAttempts} wrong PINs; an operator must unlock it`,
    );
  }

  /**
   * The same words as for an unknown user: saying how many attempts are left would tell a guesser
   * that the name exists (the operator sees the count: `users` in the admin API).
   */
  private wrongPin(): VhsmError {
    return new VhsmError(Status.BAD_CREDENTIALS, "wrong user or PIN");
  }
}

/** How many names that are no user ghostAttempts remembers. */
const MAX_GHOSTS = 10_000;

const ghostKey = (container: ContainerRow, name: string) => `${container.id}\0${name}`;

/** A fresh data key wrapped under `pin`: for new users and for PIN resets (which lose the old keys). */
export async function wrapNewDataKey(
  containerName: string,
  userName: string,
  pin: Uint8Array,
  kdfLogN: number,
): Promise<{ kdf: string; wrapped: Uint8Array }> {
  checkPin(pin);
  const params = newKdfParams(kdfLogN);
  const kek = await deriveKey(pin, params);
  const dataKey = randomBytes(32);
  const wrapped = seal(kek, dataKey, dataKeyAad(containerName, userName));
  kek.fill(0);
  dataKey.fill(0);
  return { kdf: JSON.stringify(params), wrapped };
}
