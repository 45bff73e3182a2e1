/** Short, fixed-width-friendly renderings of counts, rates, sizes, durations and ages. */

export function count(n: number): string {
  if (!Number.isFinite(n)) return "∞";
  const abs = Math.abs(n);
  if (abs < 10 && n !== Math.round(n)) return n.toFixed(1);
  if (abs < 1000) return String(Math.round(n));
  if (abs < 1e6) return `${(n / 1e3).toFixed(abs < 1e4 ? 2 : 1)}k`;
  if (abs < 1e9) return `${(n / 1e6).toFixed(abs < 1e7 ? 2 : 1)}M`;
  return `${(n / 1e9).toFixed(1)}G`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** Latency from the histograms, which report bucket upper bounds in microseconds. */
export function micros(us: number): string {
  if (!Number.isFinite(us)) return ">1s";
  if (us < 1000) return `${us}µs`;
  if (us < 1e6) return `${+(us / 1000).toFixed(1)}ms`;
  return `${+(us / 1e6).toFixed(1)}s`;
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, "0")}h`;
}

export function age(time: number | null | undefined, now: number): string {
  if (!time) return "never";
  return `${duration((now - time) / 1000)} ago`;
}

export function clock(time: number): string {
  return new Date(time).toTimeString().slice(0, 8);
}

/** Cuts to `width` columns with an ellipsis, or pads to it. */
export function fit(s: string, width: number, align: "left" | "right" = "left"): string {
  if (width <= 0) return "";
  const cut = s.length > width ? `${s.slice(0, Math.max(0, width - 1))}…` : s;
  return align === "left" ? cut.padEnd(width) : cut.padStart(width);
}
