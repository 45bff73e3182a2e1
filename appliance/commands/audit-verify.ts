/** `vhsm-appliance audit verify`: checks the hash chain of the audit log files. */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { verifyAuditFiles } from "../core/audit/verify.ts";

/** The data dir's audit files, oldest first: rotated archives by name, then the live file. */
export function auditFiles(dataDir: string): string[] {
  const dir = join(dataDir, "audit");
  if (!existsSync(dir)) return [];
  const archived = readdirSync(dir)
    .filter((f) => /^audit-.+\.log$/.test(f))
    .sort()
    .map((f) => join(dir, f));
  const live = join(dir, "audit.log");
  return existsSync(live) ? [...archived, live] : archived;
}

export function auditVerify(opts: { data?: string; from?: string[]; json?: boolean }): number {
  // a single file given by hand may start mid-chain (after a rotation): trust its first record's link
  const files = opts.from?.length ? opts.from : auditFiles(opts.data ?? "");
  if (files.length === 0) {
    console.error("no audit log files found (give --data DIR or --from FILE)");
    return 2;
  }
  const result = verifyAuditFiles(files, opts.from?.length ? null : undefined);
  if (opts.json) {
    console.log(JSON.stringify(result, null, 2));
  } else if (result.ok) {
    console.log(`audit log OK: ${result.records} records in ${result.files} file(s), chain intact`);
  } else {
    for (const p of result.problems) {
      console.log(`${p.file}:${p.line}: ${p.seq === null ? "" : `record ${p.seq}: `}${p.problem}`);
    }
    console.log(`audit log BROKEN: ${result.problems.length} problem(s) in ${result.records} records`);
  }
  return result.ok ? 0 : 1;
}
