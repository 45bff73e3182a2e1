/**
 * A tiny SVG chart writer (line and grouped-bar charts over categorical x values), enough to draw
 * the paper's figures without a plotting dependency.
 */

export interface Series {
  name: string;
  values: number[];
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  categories: string[];
  series: Series[];
}

const W = 640;
const H = 400;
const M = { left: 80, right: 20, top: 44, bottom: 90 };
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A round axis maximum and tick step (1, 2 or 5 × 10^k) covering `max` in about five steps. */
export function niceScale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  // toPrecision: 3 × 0.2 is 0.6000000000000001 in binary floating point
  return { top: +(Math.ceil(max / step) * step).toPrecision(12), step };
}

function tickLabel(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(2)}`;
}

function frame(chart: Chart, top: number, step: number, body: string): string {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const y = (v: number) => M.top + plotH - (v / top) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(chart.title)}</text>`,
  ];
  for (let v = 0; v <= top + step / 2; v += step) {
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${tickLabel(v)}</text>`,
    );
  }
  parts.push(
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + plotH}" stroke="black"/>`,
    `<line x1="${M.left}" x2="${W - M.right}" y1="${M.top + plotH}" y2="${M.top + plotH}" stroke="black"/>`,
    `<text x="${M.left + plotW / 2}" y="${M.top + plotH + 36}" text-anchor="middle">${esc(chart.xLabel)}</text>`,
    `<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(chart.yLabel)}</text>`,
    body,
  );
  // legend under the x label, in rows of three
  chart.series.forEach((s, i) => {
    const lx = M.left + (i % 3) * 180;
    const ly = H - 30 + Math.floor(i / 3) * 16;
    parts.push(
      `<rect x="${lx}" y="${ly - 9}" width="12" height="10" fill="${COLOURS[i % COLOURS.length]}"/>`,
      `<text x="${lx + 16}" y="${ly}">${esc(s.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

function scaleOf(chart: Chart) {
  return niceScale(Math.max(...chart.series.flatMap((s) => s.values.filter(Number.isFinite))));
}

export function lineChart(chart: Chart): string {
  const { top, step } = scaleOf(chart);
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const n = chart.categories.length;
  const x = (i: number) => M.left + (n === 1 ? plotW / 2 : 30 + (i * (plotW - 60)) / (n - 1));
  const y = (v: number) => M.top + plotH - (v / top) * plotH;
  const body: string[] = chart.categories.map(
    (c, i) => `<text x="${x(i)}" y="${M.top + plotH + 18}" text-anchor="middle">${esc(c)}</text>`,
  );
  chart.series.forEach((s, si) => {
    const colour = COLOURS[si % COLOURS.length];
    const pts = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    body.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.join(" ")}"/>`);
    for (const p of pts) {
      const [px, py] = p.split(",");
      body.push(`<circle cx="${px}" cy="${py}" r="3.5" fill="${colour}"/>`);
    }
  });
  return frame(chart, top, step, body.join("\n"));
}

export function barChart(chart: Chart): string {
  const { top, step } = scaleOf(chart);
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const groupW = plotW / chart.categories.length;
  const barW = (groupW * 0.8) / chart.series.length;
  const y = (v: number) => M.top + plotH - (v / top) * plotH;
  const body: string[] = [];
  chart.categories.forEach((c, gi) => {
    const gx = M.left + gi * groupW + groupW * 0.1;
    body.push(
      `<text x="${gx + groupW * 0.4}" y="${M.top + plotH + 18}" text-anchor="middle">${esc(c)}</text>`,
    );
    chart.series.forEach((s, si) => {
      const v = s.values[gi] ?? 0;
      const bx = gx + si * barW;
      body.push(
        `<rect x="${bx.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(M.top + plotH - y(v)).toFixed(1)}" fill="${COLOURS[si % COLOURS.length]}"/>`,
        `<text x="${(bx + barW / 2 - 1).toFixed(1)}" y="${(y(v) - 3).toFixed(1)}" text-anchor="middle" font-size="10">${tickLabel(v)}</text>`,
      );
    });
  });
  return frame(chart, top, step, body.join("\n"));
}
