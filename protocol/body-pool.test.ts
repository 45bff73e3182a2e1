import { expect, test } from "bun:test";
import { BodyPool } from "./body-pool.ts";

test("a poolable body is shared memory and comes back to the next take once given", () => {
  const pool = new BodyPool();
  const a = pool.take(300 * 1024);
  expect(pool.isShared(a)).toBe(true);
  pool.give(a);
  expect(pool.take(290 * 1024).buffer).toBe(a.buffer);
});

test("small and oversized bodies are plain, unpooled buffers", () => {
  const pool = new BodyPool();
  expect(pool.isShared(pool.take(100))).toBe(false);
  expect(pool.isShared(pool.take(3 * 1024 * 1024))).toBe(false);
});

test("a held body is not reused by give() until it is released", () => {
  const pool = new BodyPool();
  const a = pool.take(1024 * 1024);
  pool.hold(a.subarray(10, 20)); // a view into the body holds the whole buffer
  pool.give(a);
  const b = pool.take(1024 * 1024);
  expect(b.buffer).not.toBe(a.buffer);
  pool.release(a.subarray(10, 20));
  expect(pool.take(1024 * 1024).buffer).toBe(a.buffer);
});
