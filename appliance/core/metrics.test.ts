/** Latency histograms and per-container counters behind /metrics and the dashboard. */
import { describe, expect, test } from "bun:test";
import { Histogram, LATENCY_BUCKETS_US, Metrics } from "./metrics.ts";

describe("Histogram", () => {
  test("an observation lands in the first bucket whose bound is at least its value", () => {
    const h = new Histogram();
    h.observe(50);
    h.observe(51);
    h.observe(5_000_000);
    expect(h.counts[0]).toBe(1);
    expect(h.counts[1]).toBe(1);
    expect(h.counts[LATENCY_BUCKETS_US.length - 1]).toBe(1);
    expect(h.total).toBe(3);
    expect(h.sumUs).toBe(5_000_101);
  });

  test("quantiles report the bucket bound holding that share of observations", () => {
    const h = new Histogram();
    expect(h.quantile(0.5)).toBe(0);
    for (let i = 0; i < 99; i++) h.observe(80);
    h.observe(20_000);
    expect(h.quantile(0.5)).toBe(100);
    expect(h.quantile(0.99)).toBe(100);
    expect(h.quantile(1)).toBe(25_000);
  });
});

describe("Metrics.recordOp", () => {
  test("counts operations and bytes by kind, errors by status name, and activity by container", () => {
    const m = new Metrics();
    const web = m.container("web");
    m.recordOp(web, "hmac", 0, 10, 100);
    m.recordOp(web, "hmac", 5, 10, 0);
    m.recordOp(m.container("db"), "digest", 0, 10, 7);
    expect(m.opsByKind.get("hmac")).toBe(2);
    expect(m.bytesByKind.get("hmac")).toBe(100);
    expect(m.errorsByStatus.get("KEY_NOT_FOUND")).toBe(1);
    expect(web).toMatchObject({ ops: 2, errors: 1, bytes: 100 });
    expect(m.container("db").ops).toBe(1);
    expect(m.latencyByKind.get("hmac")!.total).toBe(2);
  });
});
