/**
 * Keeps RESULTS.md current: each bench owns the text between `<!-- bench:NAME -->` and
 * `<!-- /bench:NAME -->`; everything outside the markers (notes, the optimisation log) is left alone.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export function replaceSection(document: string, name: string, body: string): string {
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const section = `${open}\n${body.trim()}\n${close}`;
  const a = document.indexOf(open);
  const b = document.indexOf(close);
  if (a >= 0 && b > a) return document.slice(0, a) + section + document.slice(b + close.length);
  return `${document.trimEnd()}\n\n${section}\n`;
}

export function updateResultsFile(path: string, name: string, body: string): void {
  const current = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmark results\n";
  writeFileSync(path, replaceSection(current, name, body));
}
