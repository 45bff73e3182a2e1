/** What the admin API does, independent of HTTP: enrollment, users, status. */
import { chmodSync, existsSync, linkSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { KEY_TYPE_NAME } from "../../../protocol/messages.ts";
import { Status, VhsmError } from "../../../protocol/status.ts";
import { wrapNewDataKey } from "../accounts.ts";
import type { ContainerSockets } from "../container-sockets.ts";
import { containerSocketPath } from "../container-sockets.ts";
import type { SelfTestResult } from "../crypto/self-test.ts";
import { checkContainerName } from "../ids.ts";
import { isServiceUser } from "../master-key.ts";
import type { Metrics } from "../metrics.ts";
import type { Services } from "../services.ts";
import type { ContainerRow } from "../store/containers.ts";
import { DB_FILE } from "../store/database.ts";
import { prometheusText, statsSnapshot } from "./stats.ts";

export class AdminActions {
  constructor(
    private readonly svc: Services,
    private readonly sockets: ContainerSockets,
    private readonly metrics: Metrics,
    private readonly selfTest: SelfTestResult,
  ) {}

  recordAdmin(action: string, status: string): void {
    this.svc.audit.admin(action, "", status);
  }

  auditState() {
    return this.svc.audit.log?.state ?? { records: 0, required: false };
  }

  rotateAudit() {
    const archived = this.svc.audit.log?.rotate();
    return { rotated: archived !== undefined, archived };
  }

  /** A consistent online snapshot of the key store (still encrypted as at rest). */
  async backup(path: string) {
    checkBackupPath(path);
    if (existsSync(path))
      throw new VhsmError(Status.BAD_ARGUMENTS, `${path} already exists; choose a new file`);
    const dir = dirname(path);
    let tmpDir: string;
    try {
      if (!statSync(dir).isDirectory())
        throw new VhsmError(Status.BAD_ARGUMENTS, `${dir} is not a directory`);
      // a fresh private (0700) directory next to the target: the snapshot is never readable by others,
      // and nobody can pre-create (or swap in) the file SQLite writes to
      tmpDir = mkdtempSync(join(dir, ".vhsm-backup-"));
    } catch (err) {
      if (err instanceof VhsmError) throw err;
      throw backupPathError(dir, err);
    }
    this.svc.usage.flush();
    const started = Date.now();
    const tmp = join(tmpDir, "backup.db");
    try {
      const umask = process.umask(0o077);
      try {
        this.svc.db.run("VACUUM INTO ?", [tmp]);
      } finally {
        process.umask(umask);
      }
      chmodSync(tmp, 0o600);
      // link (not rename): it fails if the target appeared meanwhile, instead of replacing it
      try {
        linkSync(tmp, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST")
          throw new VhsmError(Status.BAD_ARGUMENTS, `${path} already exists; choose a new file`);
        throw err;
      }
    } catch (err) {
      if (err instanceof VhsmError) throw err;
      throw new VhsmError(Status.INTERNAL, `backup failed: ${(err as Error).message}`);
    } finally {
      rmSync(tmpDir, { recursive: true, force: true });
    }
    return { path, bytes: statSync(path).size, milliseconds: Date.now() - started, ...this.countAll() };
  }

  private countAll() {
    const s = this.status();
    return { containers: s.containers + s.revokedContainers, users: s.users, keys: s.keys };
  }

  health() {
    return { status: this.selfTest.ok ? "ok" : "failing", selfTest: this.selfTest };
  }

  status() {
    const db = this.svc.containers;
    const all = db.all();
    let users = 0;
    let keys = 0;
    for (const c of all) {
      users += this.svc.users.list(c.id).length;
      keys += this.svc.keys.countForContainer(c.id);
    }
    let dbSize = 0;
    try {
      dbSize = statSync(join(this.svc.config.dataDir, DB_FILE)).size;
    } catch {}
    return {
      version: this.svc.version,
      uptimeSeconds: Math.round((Date.now() - this.metrics.started) / 1000),
      dataDir: this.svc.config.dataDir,
      runDir: this.svc.config.runDir,
      dbSize,
      containers: all.filter((c) => c.revoked === 0).length,
      revokedContainers: all.filter((c) => c.revoked !== 0).length,
      users,
      keys,
      connections: this.sockets.totalConnections(),
      openVaults: this.svc.accounts.openVaultCount(),
      selfTest: this.selfTest.ok ? "passed" : "failed",
      audit: this.svc.audit.log ? { ...this.svc.audit.log.state } : null,
    };
  }

  stats() {
    return statsSnapshot(this.metrics, this.status());
  }

  prometheus(): string {
    return prometheusText(this.metrics, this.status());
  }

  private describe(c: ContainerRow) {
    const users = this.svc.users.list(c.id);
    return {
      name: c.name,
      created: new Date(c.created).toISOString(),
      revoked: c.revoked !== 0,
      uid: c.uid,
      gid: c.gid,
      socket: containerSocketPath(this.svc.config.runDir, c.name),
      users: users.length,
      lockedUsers: users.filter((u) => u.failed_attempts >= this.svc.config.maxPinAttempts).length,
      keys: this.svc.keys.countForContainer(c.id),
      sessions: this.sockets.sessionCount(c.name),
      lastActivity: this.metrics.byContainer.get(c.name)?.lastActivity || null,
    };
  }

  listContainers() {
    return this.svc.containers.all().map((c) => this.describe(c));
  }

  container(name: string) {
    return this.describe(this.requireContainer(name, true));
  }

  enroll(name: string, uid: number | null, gid: number | null) {
    checkContainerName(name);
    const { row, changed } = this.svc.containers.enroll(name, uid, gid);
    if (changed) this.sockets.close(name); // uid/gid may have changed: re-create the socket
    const socket = this.sockets.open(row);
    return { ...this.describe(row), socket, changed };
  }

  revoke(name: string, wipe: boolean) {
    const c = this.requireContainer(name, true);
    this.sockets.close(name);
    for (const u of this.svc.users.list(c.id)) this.svc.accounts.evict(u.id);
    if (wipe) this.svc.containers.wipe(c.id);
    else this.svc.containers.revoke(c.id);
    return { name, revoked: true, wiped: wipe };
  }

  /** Per-key use counts and last use for a container (metadata only). */
  listKeys(name: string) {
    const c = this.requireContainer(name, true);
    this.svc.usage.flush();
    return this.svc.keys.listForContainer(c.id).map((k) => ({
      user: k.user,
      id: k.key_id,
      type: KEY_TYPE_NAME[k.type] ?? `type-${k.type}`,
      bits: k.bits,
      versions: k.versions,
      useCount: k.use_count,
      lastUsed: k.last_used ? new Date(k.last_used).toISOString() : null,
      created: new Date(k.created).toISOString(),
    }));
  }

  listUsers(name: string) {
    const c = this.requireContainer(name, true);
    return this.svc.users.list(c.id).map((u) => ({
      name: u.name,
      created: new Date(u.created).toISOString(),
      failedAttempts: u.failed_attempts,
      locked: u.failed_attempts >= this.svc.config.maxPinAttempts,
      keys: this.svc.keys.count(u.id),
      loggedIn: this.svc.accounts.isOpen(u.id),
      service: isServiceUser(u.kdf),
    }));
  }

  async addUser(container: string, user: string, pin: string) {
    const c = this.requireContainer(container, true);
    const pinBytes = Buffer.from(pin, "utf8");
    try {
      await this.svc.accounts.createUser(c, user, pinBytes);
    } finally {
      pinBytes.fill(0);
    }
    return { container, user, created: true };
  }

  addServiceUser(container: string, user: string) {
    const c = this.requireContainer(container, true);
    this.svc.accounts.createServiceUser(c, user);
    return {
      container,
      user,
      created: true,
      service: true,
      warning:
        "a service user logs in through its container's socket without a PIN; its data key is wrapped by the appliance master key, so a stolen data dir together with the master key file opens its keys",
      masterKeyFile: this.svc.config.masterKeyFile,
    };
  }

  removeUser(container: string, user: string, confirm: boolean) {
    const c = this.requireContainer(container, true);
    const u = this.requireUser(c, user);
    const keys = this.svc.keys.count(u.id);
    if (keys > 0 && !confirm) {
      throw new VhsmError(
        Status.CONFIRMATION_REQUIRED,
        `user ${user} owns ${keys} keys that would be destroyed; repeat with confirmation (--yes)`,
      );
    }
    this.sockets.closeUserSessions(container, u.id);
    this.svc.accounts.evict(u.id);
    this.svc.users.remove(u.id);
    return { container, user, removed: true, keysDestroyed: keys };
  }

  unlockUser(container: string, user: string) {
    const u = this.requireUser(this.requireContainer(container, true), user);
    this.svc.users.resetAttempts(u.id);
    return { container, user, unlocked: true };
  }

  async resetPin(container: string, user: string, pin: string, destroyKeys: boolean) {
    const c = this.requireContainer(container, true);
    const u = this.requireUser(c, user);
    if (isServiceUser(u.kdf))
      throw new VhsmError(Status.BAD_ARGUMENTS, `${user} is a service user: it has no PIN`);
    if (!destroyKeys) {
      throw new VhsmError(
        Status.CONFIRMATION_REQUIRED,
        "a PIN reset without the old PIN cannot recover the user's data key: the user's keys are destroyed. Repeat with confirmation (--destroy-keys)",
      );
    }
    const pinBytes = Buffer.from(pin, "utf8");
    let wrap: { kdf: string; wrapped: Uint8Array };
    try {
      wrap = await wrapNewDataKey(c.name, u.name, pinBytes, this.svc.config.kdfLogN);
    } finally {
      pinBytes.fill(0);
    }
    this.sockets.closeUserSessions(container, u.id);
    this.svc.accounts.evict(u.id);
    const destroyed = this.svc.keys.removeAllForUser(u.id);
    this.svc.users.rewrap(u.id, wrap.kdf, wrap.wrapped);
    this.svc.users.resetAttempts(u.id);
    return { container, user, pinReset: true, keysDestroyed: destroyed };
  }

  private requireContainer(name: string, includeRevoked: boolean): ContainerRow {
    const c = this.svc.containers.byName(name);
    if (!c || (!includeRevoked && c.revoked)) {
      throw new VhsmError(Status.CONTAINER_NOT_FOUND, `no container named ${name}`);
    }
    return c;
  }

  private requireUser(c: ContainerRow, name: string) {
    const u = this.svc.users.byName(c.id, name);
    if (!u) throw new VhsmError(Status.USER_NOT_FOUND, `no user ${name} in container ${c.name}`);
    return u;
  }
}

/** Operator mistakes in a backup path are BAD_ARGUMENTS, named plainly (not INTERNAL). */
function checkBackupPath(path: string): void {
  if (path.includes("\0")) throw new VhsmError(Status.BAD_ARGUMENTS, "the backup path contains a NUL byte");
  if (!path.startsWith("/")) throw new VhsmError(Status.BAD_ARGUMENTS, "the backup path must be absolute");
  const name = basename(path);
  if (Buffer.byteLength(name) > 255)
    throw new VhsmError(Status.BAD_ARGUMENTS, "the backup file name is longer than 255 bytes");
  const top = path.split("/")[1];
  if (top === "proc" || top === "sys")
    throw new VhsmError(Status.BAD_ARGUMENTS, `cannot write a backup under /${top}`);
}

function backupPathError(dir: string, err: unknown): VhsmError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === "ENOENT"
      ? "does not exist"
      : code === "ENOTDIR"
        ? "is not a directory"
        : code === "EACCES" || code === "EPERM"
          ? "is not writable"
          : code === "EROFS"
            ? "is on a read-only file system"
            : `cannot be used (${(err as Error).message})`;
  return new VhsmError(Status.BAD_ARGUMENTS, `backup directory ${dir} ${why}`);
}
