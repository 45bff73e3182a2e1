/**
 * Starts the appliance: self-tests, key store, admin socket, one socket per enrolled container.
 * Returns a handle whose `stop()` closes everything and flushes buffered usage counters.
 */

import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Server } from "bun";
import { BodyPool } from "../../protocol/body-pool.ts";
import { Accounts } from "./accounts.ts";
import { AdminActions } from "./admin/actions.ts";
import { adminHandler } from "./admin/api.ts";
import { AuditLog } from "./audit/audit-log.ts";
import { Auditor } from "./audit/auditor.ts";
import type { ApplianceConfig } from "./config.ts";
import { ContainerSockets } from "./container-sockets.ts";
import { HashWorkers } from "./crypto/hash-workers.ts";
import { runSelfTests } from "./crypto/self-test.ts";
import { SignWorkers } from "./crypto/sign-workers.ts";
import type { Logger } from "./log.ts";
import { MasterKey } from "./master-key.ts";
import { MemoryBudget } from "./memory-budget.ts";
import { Metrics } from "./metrics.ts";
import { upgradeLegacyRows } from "./seal-upgrade.ts";
import type { Services } from "./services.ts";
import { ContainerStore } from "./store/containers.ts";
import { openDatabase } from "./store/database.ts";
import { KeyStore } from "./store/keys.ts";
import { UserStore } from "./store/users.ts";
import { UsageRecorder } from "./usage-recorder.ts";
import { VERSION } from "./version.ts";

export interface RunningAppliance {
  config: ApplianceConfig;
  adminSocket: string;
  actions: AdminActions;
  metrics: Metrics;
  log: Logger;
  stop(): Promise<void>;
}

export class SelfTestFailure extends Error {}

export function adminSocketPath(runDir: string): string {
  return join(runDir, "admin.sock");
}

export async function startAppliance(config: ApplianceConfig, log: Logger): Promise<RunningAppliance> {
  const selfTest = runSelfTests();
  if (!selfTest.ok) {
    throw new SelfTestFailure(
      `self-test failed for ${selfTest.failed.join(", ")}: refusing to serve. The runtime's crypto is broken or was tampered with.`,
    );
  }
  log.info("self-tests passed", { algorithms: selfTest.passed.length });

  const db = openDatabase(config.dataDir, {
    stateFile: config.stateFile,
    acceptRollback: config.acceptRollback,
    warn: (message) => log.warn(message),
  });
  const containers = new ContainerStore(db);
  const users = new UserStore(db);
  const keys = new KeyStore(db);
  const usage = new UsageRecorder(keys);
  const metrics = new Metrics();
  const signWorkers = config.signWorkers > 0 ? new SignWorkers(config.signWorkers, metrics) : null;
  const accounts = new Accounts(
    users,
    {
      maxPinAttempts: config.maxPinAttempts,
      kdfLogN: config.kdfLogN,
      keyCacheLimit: config.keyCacheLimit,
      // a signing worker's copy of a key goes when the vault's does
      keyDropped: (key) => key.privateKey && signWorkers?.release(key.privateKey),
      // a row from before seal format 3 is stored resealed when it opens (vault.ts), which the
      // user's first unlock after the upgrade does for all of them (upgradeUser)
      keyResealed: (row, material) => keys.reseal(row, material),
      upgradeUser: (vault, finish) => {
        try {
          const { resealed, refused } = upgradeLegacyRows(db, keys, vault, finish);
          log.info("user upgraded to seal format 3: its key rows resealed, its data key rewrapped", {
            container: vault.containerName,
            user: vault.userName,
            resealed,
            refused,
          });
        } catch (err) {
          log.warn("could not upgrade a user to seal format 3; its next login tries again", {
            container: vault.containerName,
            user: vault.userName,
            error: String((err as Error)?.message ?? err),
          });
          throw err;
        }
      },
    },
    new MasterKey(config.masterKeyFile),
  );
  const auditLog = new AuditLog({
    dir: join(config.dataDir, "audit"),
    required: config.auditRequired,
    rotateBytes: config.auditRotateBytes,
  });
  const audit = new Auditor(auditLog);
  audit.admin("APPLIANCE_START", VERSION, "OK");
  const bodies = new BodyPool();
  const memory = new MemoryBudget(config.memoryBudget, config.containerMemoryBudget);
  metrics.memory = memory;
  const services: Services = {
    config,
    containers,
    users,
    keys,
    accounts,
    usage,
    audit,
    db,
    bodies,
    memory,
    signWorkers,
    hashWorkers:
      config.hashWorkers > 0
        ? new HashWorkers(config.hashWorkers, config.offloadBytes, bodies, config.hashWorkerNice)
        : null,
    version: VERSION,
  };
  // the dashboard's event panel (in-process or through `top`) shows the recent log lines
  metrics.recentLog = log.recent;
  const sockets = new ContainerSockets(services, metrics, log);
  const actions = new AdminActions(services, sockets, metrics, selfTest);

  mkdirSync(config.runDir, { recursive: true, mode: 0o755 });
  const adminSocket = adminSocketPath(config.runDir);
  rmSync(adminSocket, { force: true });
  // create the admin socket with no group/other access from the first instant
  const oldUmask = process.umask(0o177);
  let admin: Server<undefined>;
  try {
    admin = Bun.serve({ unix: adminSocket, fetch: adminHandler(actions, log) });
  } finally {
    process.umask(oldUmask);
  }
  chmodSync(adminSocket, 0o600);

  for (const c of containers.active()) sockets.open(c);
  const flushTimer = setInterval(() => {
    usage.flush();
    memory.sweep();
  }, 1000);
  log.info("appliance ready", { version: VERSION, dataDir: config.dataDir, admin: adminSocket });

  let stopped = false;
  return {
    config,
    adminSocket,
    actions,
    metrics,
    log,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(flushTimer);
      sockets.closeAll();
      await admin.stop(true);
      rmSync(adminSocket, { force: true });
      await services.hashWorkers?.stop();
      await signWorkers?.stop();
      usage.flush();
      audit.admin("APPLIANCE_STOP", VERSION, "OK");
      auditLog.close();
      db.close();
      log.info("appliance stopped");
    },
  };
}
