/**
 * Live-socket fuzzer: random and damaged frames over many connections against the real appliance.
 * Every connection's byte stream is also cut by our own FrameReader, which predicts what the appliance
 * must do: answer each complete frame exactly once (matching opcode and request id), or answer a broken
 * header with one error frame and close. Afterwards the appliance must be alive, compute correct HMACs
 * for a bystander, have the bystander's keys untouched, and not have grown its memory without bound.
 *
 *   VHSM_FUZZ_FRAMES  frames to send (default 50,000; e.g. 1,000,000 for the long run)
 *   VHSM_FUZZ_SEED    replay a run (the seed is printed)
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { VhsmClient } from "../agent/index.ts";
import { decodeBody, encodeRequest } from "../protocol/codec.ts";
import { DEFAULT_MAX_BODY, FLAG_RESPONSE, FrameReader } from "../protocol/frame.ts";
import { ERROR_BODY, MESSAGES, messageName, PROTOCOL_VERSION } from "../protocol/messages.ts";
import { Status, statusName, VhsmError } from "../protocol/status.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { FrameFuzzer, rng } from "./support/fuzz-frames.ts";
import { RawConnection } from "./support/raw-socket.ts";

const FRAMES = Number(process.env.VHSM_FUZZ_FRAMES ?? 50_000);
const SEED = Number(process.env.VHSM_FUZZ_SEED ?? randomBytes(4).readUInt32BE());
const WORKERS = 8;
const PIN = "fuzz-pin-1234";
const SECRET = randomBytes(32);

let app: TestAppliance;
let bystander: VhsmClient;
let keeper: VhsmClient;
let bystanderKeys: number;

beforeAll(async () => {
  // many random PIN_CHANGEs count as wrong PINs; each successful login resets the count
  app = await startTestAppliance({ args: ["--max-pin-attempts", "1000"] });
  bystander = await app.setupClient("fuzz", "bystander", "bystander-pin");
  await bystander.keys.import(SECRET, { id: "bystander-key" });
  bystanderKeys = await bystander.keys.count();
  // keeps the fuzz user's vault open, so fuzz logins skip the KDF
  keeper = await app.setupClient("fuzz", "fuzzer", PIN);
  await keeper.keys.import(randomBytes(32), { id: "fuzz-key" });
});
afterAll(async () => {
  bystander?.close();
  keeper?.close();
  await app?.dispose();
});

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) * 1024;
}

interface Prediction {
  /** "opcode/requestId" of every frame the appliance must answer (if it does not close first). */
  answers: string[];
  /** Status of the error frame it must send before closing, if the stream breaks. */
  fatal?: string;
}

/** What the appliance must do with this byte stream: the same framing loop, run on our side. */
function predict(stream: Uint8Array): Prediction {
  const answers: string[] = [];
  try {
    new FrameReader(DEFAULT_MAX_BODY, (f) => {
      if (f.flags & FLAG_RESPONSE) throw new VhsmError(Status.BAD_FRAME);
      answers.push(`${f.opcode}/${f.requestId}`);
    }).push(stream);
  } catch (err) {
    return { answers, fatal: (err as VhsmError).code };
  }
  return { answers };
}

const stats = {
  frames: 0,
  connections: 0,
  fatal: 0,
  abrupt: 0,
  responses: 0,
  byStatus: new Map<string, number>(),
};
const problems: string[] = [];

/** One fuzz connection: a batch of frames in random chunks, then the appliance's answers are checked. */
async function fuzzConnection(fz: FrameFuzzer): Promise<void> {
  const conn = await RawConnection.open(app.socketOf("fuzz"));
  stats.connections++;
  const frames: Uint8Array[] = [];
  if (fz.chance(0.9)) {
    frames.push(
      encodeRequest("HELLO", fz.int(0xffffffff), {
        minVersion: 1,
        maxVersion: PROTOCOL_VERSION,
        client: "fuzz",
      }),
    );
    if (fz.chance(0.9))
      frames.push(encodeRequest("LOGIN", fz.int(0xffffffff), { user: "fuzzer", pin: Buffer.from(PIN) }));
  }
  const reuse: number[] = [];
  const nextId = () => {
    // interleaved ids: mostly fresh, sometimes repeating an id already in flight
    const id = reuse.length && fz.chance(0.1) ? fz.pick(reuse) : fz.int(0xffffffff);
    reuse.push(id);
    return id;
  };
  const login = () => encodeRequest("LOGIN", nextId(), { user: "fuzzer", pin: Buffer.from(PIN) });
  for (let i = 0, n = 1 + fz.int(150); i < n; i++) {
    // random LOGOUTs end the login; log in again now and then to keep reaching the handlers
    frames.push(fz.chance(0.03) ? login() : fz.frame(nextId()));
  }
  // at most one stream breaker, near the end, so most frames of a connection are really served
  if (fz.chance(0.4)) frames.splice(Math.max(0, frames.length - fz.int(3)), 0, fz.breaker(nextId()));
  stats.frames += frames.length;
  const stream = new Uint8Array(Buffer.concat(frames));
  const expected = predict(stream);
  for (const chunk of fz.split(stream)) {
    conn.write(chunk);
    if (fz.chance(0.3)) await Bun.sleep(0);
  }
  if (fz.chance(0.15)) {
    stats.abrupt++;
    conn.end(); // hang up without reading: must cost the appliance nothing lasting
    return;
  }
  const where = `seed ${SEED}, connection ${stats.connections}`;
  try {
    if (expected.fatal) {
      stats.fatal++;
      await conn.waitClosed(10_000);
    } else {
      await conn.until(() => conn.frames.length >= expected.answers.length, "all answers", 10_000);
      await Bun.sleep(fz.chance(0.05) ? 20 : 0); // answers beyond the expected ones would show up here
    }
  } catch (err) {
    problems.push(`${where}: ${(err as Error).message}; expected ${JSON.stringify(expected).slice(0, 300)}`);
    conn.end();
    return;
  }
  checkAnswers(conn, expected, where);
  conn.end();
}

function checkAnswers(conn: RawConnection, expected: Prediction, where: string): void {
  const open = new Map<string, number>();
  for (const a of expected.answers) open.set(a, (open.get(a) ?? 0) + 1);
  const answers = conn.frames;
  const last = answers.length - 1;
  for (const [i, f] of answers.entries()) {
    stats.responses++;
    const code = statusName(f.status);
    stats.byStatus.set(code, (stats.byStatus.get(code) ?? 0) + 1);
    if (!(f.flags & FLAG_RESPONSE)) problems.push(`${where}: a frame without the response flag`);
    if (f.status === Status.INTERNAL)
      problems.push(`${where}: INTERNAL for opcode 0x${f.opcode.toString(16)}`);
    try {
      const name = messageName(f.opcode);
      if (f.status !== Status.OK) decodeBody(ERROR_BODY, f.body);
      else if (name) decodeBody(MESSAGES[name].response, f.body);
      else problems.push(`${where}: OK answer for unknown opcode ${f.opcode}`);
    } catch (err) {
      problems.push(`${where}: malformed answer body for opcode ${f.opcode}: ${(err as Error).message}`);
    }
    if (expected.fatal && i === last) {
      if (f.opcode !== 0 || f.requestId !== 0 || code !== expected.fatal) {
        problems.push(
          `${where}: expected a final ${expected.fatal} error frame, got ${code} ${f.opcode}/${f.requestId}`,
        );
      }
      continue;
    }
    const key = `${f.opcode}/${f.requestId}`;
    const left = open.get(key) ?? 0;
    if (left === 0) problems.push(`${where}: unexpected answer ${code} ${key}`);
    else open.set(key, left - 1);
  }
  // with a fatal error, answers still in progress are dropped with the connection; without, none may be missing
  if (!expected.fatal && answers.length !== expected.answers.length) {
    problems.push(`${where}: ${answers.length} answers for ${expected.answers.length} frames`);
  }
  if (expected.fatal && conn.frames.length === 0) problems.push(`${where}: closed without an error frame`);
}

async function expectBystanderServed(): Promise<void> {
  for (const size of [0, 1, 4096]) {
    const data = randomBytes(size);
    const mac = await bystander.hmac("bystander-key", "sha256", data);
    expect(Buffer.from(mac).toString("hex")).toBe(createHmac("sha256", SECRET).update(data).digest("hex"));
  }
  expect(await bystander.keys.count()).toBe(bystanderKeys);
}

test(
  `fuzz: ${FRAMES} random and damaged frames over many connections (seed ${SEED})`,
  async () => {
    console.log(`fuzz seed ${SEED} (VHSM_FUZZ_SEED=${SEED} to replay), ${FRAMES} frames`);
    const pid = app.proc!.pid;
    const known = ["fuzz-key", "bystander-key", "fuzzer", "bystander", "no-such-key"];
    const started = performance.now();
    let warmRss = 0;
    let peakRss = 0;
    const worker = async (w: number) => {
      const fz = new FrameFuzzer(rng(SEED + w), known);
      while (stats.frames < FRAMES && problems.length < 20) {
        await fuzzConnection(fz);
        if (!warmRss && stats.frames >= FRAMES / 10) warmRss = rssBytes(pid);
        if (stats.connections % 50 === 0) peakRss = Math.max(peakRss, rssBytes(pid));
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    const seconds = (performance.now() - started) / 1000;
    await Bun.sleep(200);
    const finalRss = rssBytes(pid);
    console.log(
      `${stats.frames} frames, ${stats.connections} connections (${stats.fatal} closed by the appliance, ${stats.abrupt} hung up) ` +
        `in ${seconds.toFixed(1)} s; ${stats.responses} answers ${JSON.stringify(Object.fromEntries(stats.byStatus))}; ` +
        `RSS after warm-up ${(warmRss / 2 ** 20).toFixed(0)} MB, peak ${(peakRss / 2 ** 20).toFixed(0)} MB, final ${(finalRss / 2 ** 20).toFixed(0)} MB`,
    );
    if (problems.length)
      console.log(
        app.stderr
          .split("\n")
          .filter((l) => /internal|error/i.test(l))
          .slice(0, 10)
          .join("\n"),
      );

    expect(problems).toEqual([]);
    expect(app.proc!.exitCode).toBeNull();
    await expectBystanderServed();
    expect((await app.admin("GET", "/health")).status).toBe(200);
    expect(finalRss).toBeLessThan(3 * warmRss + 50 * 2 ** 20);
  },
  { timeout: Math.max(120_000, FRAMES * 2) },
);
