import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openInput } from "./input.ts";

const dir = mkdtempSync(join(tmpdir(), "vhsm-input-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function chunksOf(bytes: number, size: number, reuse = 0): Promise<Buffer[]> {
  const path = join(dir, `f${bytes}`);
  writeFileSync(path, Buffer.alloc(bytes, 7));
  const input = await openInput(path);
  const out: Buffer[] = [];
  for await (const c of input.chunks(size, reuse)) out.push(Buffer.from(c));
  await input.close();
  return out;
}

test("chunks are full-sized except the last, with no empty tail on an exact multiple", async () => {
  expect((await chunksOf(10, 4)).map((c) => c.length)).toEqual([4, 4, 2]);
  expect((await chunksOf(8, 4)).map((c) => c.length)).toEqual([4, 4]);
  expect((await chunksOf(3, 4)).map((c) => c.length)).toEqual([3]);
});

test("an empty input is one empty chunk", async () => {
  expect((await chunksOf(0, 4)).map((c) => c.length)).toEqual([0]);
});

test("with reuse the buffers rotate: chunk n and chunk n + reuse share memory", async () => {
  const path = join(dir, "rotate");
  writeFileSync(path, Buffer.from("aabbccdd"));
  const input = await openInput(path);
  const seen: Buffer[] = [];
  for await (const c of input.chunks(2, 2)) seen.push(c);
  await input.close();
  expect(seen[0]!.buffer).toBe(seen[2]!.buffer);
  expect(seen[0]!.buffer).not.toBe(seen[1]!.buffer);
});

test("a missing file is an IO_ERROR naming the path", async () => {
  const missing = join(dir, "absent");
  await expect(openInput(missing)).rejects.toMatchObject({ code: "IO_ERROR", exit: 5 });
  await expect(openInput(dir)).rejects.toThrow("is a directory");
});
