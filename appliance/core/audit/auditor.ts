/**
 * Decides what goes into the audit log and in what words: who (container/user or admin), what
 * (operation, key id, version), and the result. Never data, PINs or key material.
 */
import type { MessageName } from "../../../protocol/messages.ts";
import { statusName } from "../../../protocol/status.ts";
import type { Session } from "../session.ts";
import type { AuditLog } from "./audit-log.ts";

/** Connection housekeeping and stream chunks carry nothing worth a record of their own. */
const NOT_AUDITED = new Set<MessageName>(["HELLO", "PING", "DIGEST_UPDATE", "HMAC_UPDATE"]);

export class Auditor {
  constructor(readonly log: AuditLog | null) {}

  operation(
    session: Session,
    name: MessageName,
    request: Record<string, unknown> | undefined,
    response: Record<string, unknown> | undefined,
    status: number,
  ): void {
    if (!this.log || NOT_AUDITED.has(name)) return;
    const user =
      session.vault?.userName ?? (name === "LOGIN" ? (request?.user as string | undefined) : undefined);
    const key = (request?.keyId ?? request?.id ?? response?.id) as string | undefined;
    const version = response?.version as number | undefined;
    this.log.record({
      actor: user ? `${session.container.name}/${user}` : session.container.name,
      op: name,
      key: key === "" ? (response?.id as string | undefined) : key,
      version,
      status: statusName(status),
    });
  }

  admin(action: string, target: string, status: string): void {
    this.log?.record({ actor: "admin", op: action, key: target, status });
  }

  flush(): void {
    this.log?.flush();
  }
}
