/** What operation handlers may use: the stores, the accounts, configuration. */
import type { Database } from "bun:sqlite";
import type { BodyPool } from "../../protocol/body-pool.ts";
import type { Accounts } from "./accounts.ts";
import type { Auditor } from "./audit/auditor.ts";
import type { ApplianceConfig } from "./config.ts";
import type { HashWorkers } from "./crypto/hash-workers.ts";
import type { SignWorkers } from "./crypto/sign-workers.ts";
import type { MemoryBudget } from "./memory-budget.ts";
import type { ContainerStore } from "./store/containers.ts";
import type { KeyStore } from "./store/keys.ts";
import type { UserStore } from "./store/users.ts";
import type { UsageRecorder } from "./usage-recorder.ts";

export interface Services {
  config: ApplianceConfig;
  containers: ContainerStore;
  users: UserStore;
  keys: KeyStore;
  accounts: Accounts;
  usage: UsageRecorder;
  audit: Auditor;
  /** Buffers in which connections assemble split request bodies (one thread, so one pool). */
  bodies: BodyPool;
  /** Bytes held for clients over all connections, against `config.memoryBudget`. */
  memory: MemoryBudget;
  /** Worker threads for large one-shot hashes; null when disabled. */
  hashWorkers: HashWorkers | null;
  /** Worker threads that share the signing under load; null when disabled. */
  signWorkers: SignWorkers | null;
  db: Database;
  version: string;
}
