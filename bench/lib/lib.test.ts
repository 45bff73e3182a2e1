import { describe, expect, test } from "bun:test";
import { replaceSection } from "./results-file.ts";
import { barChart, lineChart, niceScale } from "./svg.ts";

describe("niceScale", () => {
  test("picks a 1/2/5 step and a top that covers the maximum", () => {
    expect(niceScale(0.53)).toEqual({ top: 0.6, step: 0.2 });
    expect(niceScale(2147)).toEqual({ top: 2500, step: 500 });
    expect(niceScale(446_272)).toEqual({ top: 500_000, step: 100_000 });
    expect(niceScale(0)).toEqual({ top: 1, step: 0.2 });
  });
});

describe("charts", () => {
  const chart = {
    title: "a < b & c",
    xLabel: "x",
    yLabel: "y",
    categories: ["1", "4", "16"],
    series: [
      { name: "one", values: [1, 2, 3] },
      { name: "two", values: [3, 2, 1] },
    ],
  };
  test("a line chart has one polyline per series and escapes text", () => {
    const svg = lineChart(chart);
    expect(svg.match(/<polyline/g)?.length).toBe(2);
    expect(svg).toContain("a &lt; b &amp; c");
    expect(svg.startsWith("<svg")).toBe(true);
  });
  test("a bar chart has one bar per value (legend swatches have whole-number sizes)", () => {
    expect(barChart(chart).match(/<rect x="[\d.]+" y="[\d.]+" width="\d+\.\d"/g)?.length).toBe(6);
  });
});

describe("replaceSection", () => {
  test("replaces only the named section and keeps the text around it", () => {
    const doc =
      "intro\n<!-- bench:a -->\nold\n<!-- /bench:a -->\nnotes\n<!-- bench:b -->\nB\n<!-- /bench:b -->\n";
    const out = replaceSection(doc, "a", "new");
    expect(out).toBe(
      "intro\n<!-- bench:a -->\nnew\n<!-- /bench:a -->\nnotes\n<!-- bench:b -->\nB\n<!-- /bench:b -->\n",
    );
  });
  test("appends a section that is not there yet", () => {
    expect(replaceSection("# R\n", "c", "C")).toBe("# R\n\n<!-- bench:c -->\nC\n<!-- /bench:c -->\n");
  });
});
