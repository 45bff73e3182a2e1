import { expect, test } from "bun:test";
import { percentiles, Samples } from "./latency.ts";

test("nearest-rank percentiles over unsorted samples", () => {
  const values = Array.from({ length: 1000 }, (_, i) => 1000 - i); // 1000 .. 1
  expect(percentiles(values)).toEqual({ count: 1000, p50: 500, p99: 990, p999: 999, max: 1000 });
  expect(percentiles([7])).toEqual({ count: 1, p50: 7, p99: 7, p999: 7, max: 7 });
  expect(Number.isNaN(percentiles([]).p50)).toBe(true);
});

test("Samples grows past its first buffer and keeps every value", () => {
  const s = new Samples();
  for (let i = 0; i < 5000; i++) s.push(i / 2);
  expect(s.length).toBe(5000);
  expect(s.values()[4999]).toBe(2499.5);
  expect(percentiles(s.values()).max).toBe(2499.5);
});
