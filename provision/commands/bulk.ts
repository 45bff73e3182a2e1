/**
 * `enroll --from FILE`: one container per line, either a bare name or a JSON object
 * `{"name": "web-1", "runtime": "docker", "uid": 1000, "gid": 1000}`. Blank lines and `#` comments
 * are skipped. The whole file is validated before anything is enrolled; then containers are enrolled
 * a few at a time, and a failure on one line does not stop the others.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { Ctx } from "../context.ts";
import { asProvisionError, EXIT, ProvisionError } from "../errors.ts";
import { Progress } from "../progress.ts";
import { RUNTIMES } from "../runtimes/index.ts";
import { type EnrollResult, type EnrollSpec, enrollOne } from "./enroll.ts";

const id = z.number().int().min(0).max(0xffffffff);
const Line = z.strictObject({
  name: z.string().min(1),
  runtime: z.enum(RUNTIMES).optional(),
  uid: id.optional(),
  gid: id.optional(),
});

export interface FileEntry {
  line: number;
  spec: EnrollSpec;
}

export function parseEnrollFile(text: string, defaults: Omit<EnrollSpec, "name">): FileEntry[] {
  const entries: FileEntry[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    let spec: EnrollSpec;
    if (line.startsWith("{")) {
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        problems.push(`line ${i + 1}: not valid JSON`);
        return;
      }
      const parsed = Line.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        problems.push(`line ${i + 1}: ${issue.path.join(".") || "object"}: ${issue.message}`);
        return;
      }
      spec = { ...defaults, ...parsed.data };
    } else if (/\s/.test(line)) {
      problems.push(`line ${i + 1}: one name per line (or a JSON object), got "${line.slice(0, 60)}"`);
      return;
    } else spec = { ...defaults, name: line };
    const first = seen.get(spec.name);
    if (first !== undefined) problems.push(`line ${i + 1}: ${spec.name} already on line ${first}`);
    seen.set(spec.name, i + 1);
    entries.push({ line: i + 1, spec });
  });
  if (problems.length) {
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : "";
    throw new ProvisionError(
      "BAD_ARGUMENTS",
      `${problems.slice(0, 5).join("; ")}${more}`,
      "nothing was enrolled; fix the file and run again",
    );
  }
  return entries;
}

const CONCURRENCY = 8;

export async function enrollFromFile(
  ctx: Ctx,
  file: string,
  defaults: Omit<EnrollSpec, "name">,
): Promise<number> {
  let text: string;
  try {
    text = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (err) {
    throw new ProvisionError(
      "BAD_ARGUMENTS",
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
  const entries = parseEnrollFile(text, defaults);
  const progress = new Progress(entries.length, ctx.out.streams, ctx.out.json);
  const results: (EnrollResult | { name: string; line: number; error: { code: string; message: string } })[] =
    new Array(entries.length);
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < entries.length) {
      const i = next++;
      const { spec, line } = entries[i]!;
      try {
        const r = await enrollOne(ctx, spec);
        results[i] = r;
        progress.tick(spec.name, `${spec.name}: ${r.outcome}${r.mount ? ` (mount: ${r.mount.state})` : ""}`);
      } catch (err) {
        const e = asProvisionError(err);
        failed++;
        results[i] = { name: spec.name, line, error: { code: e.code, message: e.message } };
        progress.print(`line ${line}: ${spec.name}: error ${e.code}: ${e.message}`);
        progress.tick(spec.name, `${spec.name}: failed`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, entries.length) }, worker));
  const summary = { total: entries.length, enrolled: entries.length - failed, failed };
  ctx.out.result(
    { ...summary, results },
    `${summary.enrolled} of ${summary.total} enrolled, ${failed} failed`,
  );
  if (!failed) return EXIT.OK;
  const err = new ProvisionError(
    "BULK_FAILED",
    `${failed} of ${entries.length} containers were not enrolled`,
  );
  ctx.out.note(`error: ${err.code}: ${err.message}\nhint: ${err.hint}`);
  return err.exitCode;
}
