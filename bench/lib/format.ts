/** Number formatting and Markdown tables for bench output. */

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export function fmtFixed(n: number, digits = 1): string {
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtRatio(r: number): string {
  return `${r.toFixed(2)}×`;
}

export function fmtBytes(n: number): string {
  if (n >= 1024 * 1024) return `${fmtFixed(n / (1024 * 1024), 1)} MiB`;
  if (n >= 1024) return `${fmtFixed(n / 1024, 0)} KiB`;
  return `${n} B`;
}

/** A size label for a payload: "4 KiB", "1 MiB". */
export function sizeLabel(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

export function markdownTable(head: string[], rows: string[][], alignRight = true): string {
  const sep = head.map((_, i) => (alignRight && i > 0 ? "---:" : "---"));
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(sep), ...rows.map(line)].join("\n");
}
