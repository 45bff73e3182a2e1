/**
 * Limits that keep one client from starving the others. Each is set low with its `serve` flag and
 * exceeded by an offender on raw sockets; the offender gets LIMIT_EXCEEDED (or FRAME_TOO_LARGE) and/or
 * is disconnected, while a well-behaved client on another connection keeps getting correct HMACs.
 * Its latency before and during the abuse is printed (not asserted: the machine is shared).
 * Streaming contexts per session (--max-contexts) are exceeded in test/scenarios.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { createConnection } from "node:net";
import { spawn } from "bun";
import type { VhsmClient } from "../agent/index.ts";
import { encodeRequest } from "../protocol/codec.ts";
import { DEFAULT_MAX_BODY, type Frame, FrameReader, HEADER_SIZE, writeHeader } from "../protocol/frame.ts";
import { PROTOCOL_VERSION } from "../protocol/messages.ts";
import { Status } from "../protocol/status.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { RawConnection, rawSession, responseBody } from "./support/raw-socket.ts";

const PIN = "limits-pin";
const SECRET = randomBytes(32);
const hello = { minVersion: PROTOCOL_VERSION, maxVersion: PROTOCOL_VERSION, client: "limits" };
const utf8 = (s: string) => new TextEncoder().encode(s);
const apps: TestAppliance[] = [];

afterAll(async () => {
  for (const a of apps) await a.dispose();
});

async function appliance(args: string[]): Promise<TestAppliance> {
  const app = await startTestAppliance({ args });
  apps.push(app);
  return app;
}

/** An appliance with container `good`, user alice and her HMAC key `k`, no client left connected. */
async function applianceWithKey(args: string[]): Promise<TestAppliance> {
  const app = await appliance(args);
  (await bystander(app)).close();
  return app;
}

/** A well-behaved client on container `good` with a known HMAC key. */
async function bystander(app: TestAppliance): Promise<VhsmClient> {
  const c = await app.setupClient("good", "alice", PIN);
  await c.keys.import(SECRET, { id: "k" });
  return c;
}

/** Correct HMACs, one after another; returns the p50 and p99 round trip in ms. */
async function probe(c: VhsmClient, n = 200): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const data = randomBytes(64);
    const t = performance.now();
    const mac = await c.hmac("k", "sha256", data);
    times.push(performance.now() - t);
    expect(Buffer.from(mac)).toEqual(createHmac("sha256", SECRET).update(data).digest());
  }
  times.sort((a, b) => a - b);
  const at = (q: number) =>
    Number(times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(3));
  return { p50: at(0.5), p99: at(0.99) };
}

function report(limit: string, before: { p50: number; p99: number }, during: { p50: number; p99: number }) {
  console.log(
    `[limits] ${limit}: bystander HMAC p50 ${before.p50} -> ${during.p50} ms, p99 ${before.p99} -> ${during.p99} ms`,
  );
}

/** The refusal a connection over a limit gets: one LIMIT_EXCEEDED frame with request id 0, then EOF. */
async function expectRefused(path: string, words: string): Promise<void> {
  const frames: Frame[] = [];
  const reader = new FrameReader(DEFAULT_MAX_BODY, (f) => frames.push({ ...f, body: f.body.slice() }));
  const socket = createConnection(path);
  socket.on("data", (chunk: Buffer) => reader.push(chunk));
  await new Promise<void>((resolve, reject) => {
    socket.once("close", () => resolve());
    socket.once("error", reject);
    setTimeout(() => reject(new Error("the refused connection was not closed")), 5000);
  });
  expect(frames.length).toBe(1);
  expect({ status: frames[0]!.status, requestId: frames[0]!.requestId }).toEqual({
    status: Status.LIMIT_EXCEEDED,
    requestId: 0,
  });
  expect(String(responseBody(frames[0]!).message)).toContain(words);
}

/** What a connection that would hold too much of a request still arriving gets: LIMIT_EXCEEDED (request id 0), then EOF. */
async function expectClosedWith(conn: RawConnection, words: string): Promise<void> {
  await conn.waitClosed();
  const last = conn.frames.at(-1)!;
  expect({ status: last.status, requestId: last.requestId }).toEqual({
    status: Status.LIMIT_EXCEEDED,
    requestId: 0,
  });
  expect(String(responseBody(last).message)).toContain(words);
}

async function connections(app: TestAppliance): Promise<number> {
  return (await app.admin("GET", "/v1/status")).json.connections;
}

async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

describe("connections per container and in total", () => {
  test("connections over either limit get LIMIT_EXCEEDED and are closed; others keep working", async () => {
    const app = await appliance(["--max-connections-per-container", "4", "--max-connections", "6"]);
    const good = await bystander(app);
    await app.enroll("bad");
    await app.enroll("other");
    const before = await probe(good);

    const bad = await Promise.all([1, 2, 3, 4].map(() => rawSession(app.socketOf("bad"))));
    await expectRefused(app.socketOf("bad"), "container bad already has 4 connections (limit 4)");
    // 1 (good) + 4 (bad) + 1 (other) = 6: the next one on any container is over the total
    const other = await rawSession(app.socketOf("other"));
    await expectRefused(app.socketOf("other"), "the appliance already has 6 connections (limit 6)");
    // the agent library reports the appliance's reason, not a bare lost connection
    const agent = await app.client("other").then(
      () => "connected",
      (err) => (err as { code?: string }).code,
    );
    expect(agent).toBe("LIMIT_EXCEEDED");

    // the accepted ones still work, the bystander too
    for (const c of [...bad, other])
      expect((await c.call("PING", 9, { data: utf8("x") })).status).toBe(Status.OK);
    const during = await probe(good);
    report("connections (4 per container, 6 in total)", before, during);

    // a refused connection does not hold a slot; closing one frees one
    bad[0]!.end();
    await until(async () => (await connections(app)) === 5, "the closed connection to be counted out");
    const again = await rawSession(app.socketOf("bad"));
    expect((await again.call("PING", 9, { data: utf8("y") })).status).toBe(Status.OK);
    for (const c of [...bad, other, again]) c.end();
    good.close();
  });
});

describe("in-flight requests per connection (--max-inflight 8)", () => {
  test("requests pipelined behind a slow LOGIN beyond the limit get LIMIT_EXCEEDED at once; the rest are served", async () => {
    // a realistic KDF, so LOGIN is still running when the pipelined requests arrive
    const app = await appliance(["--max-inflight", "8", "--kdf-log-n", "15"]);
    const good = await bystander(app);
    await app.addUser("good", "bob", PIN);
    const before = await probe(good, 50);
    const conn = await RawConnection.open(app.socketOf("good"));
    const pings = Array.from({ length: 20 }, (_, i) =>
      encodeRequest("PING", 100 + i, { data: utf8(`p${i}`) }),
    );
    conn.write(
      Buffer.concat([
        encodeRequest("HELLO", 1, hello),
        encodeRequest("LOGIN", 2, { user: "bob", pin: utf8(PIN) }),
        ...pings,
      ]),
    );
    const during = await probe(good, 50);
    const answers = await conn.next(22, 0, 15_000);
    const byId = new Map(answers.map((f) => [f.requestId, f]));
    expect(byId.get(2)!.status).toBe(Status.OK);
    // LOGIN running (1) + 7 waiting behind it = 8: PINGs 8..20 are over the limit
    const refused = answers.filter((f) => f.status === Status.LIMIT_EXCEEDED).map((f) => f.requestId);
    expect(refused).toEqual(Array.from({ length: 13 }, (_, i) => 107 + i));
    expect(String(responseBody(byId.get(107)!).message)).toContain("more than 8 requests in flight");
    // the refusals were answered while LOGIN still ran: before its answer
    expect(answers.findIndex((f) => f.requestId === 119)).toBeLessThan(
      answers.findIndex((f) => f.requestId === 2),
    );
    for (let i = 0; i < 7; i++) expect(byId.get(100 + i)!.status).toBe(Status.OK);
    // the limit is on what is pending now, not a budget: the same connection goes on working
    expect((await conn.call("PING", 200, { data: utf8("after") })).status).toBe(Status.OK);
    expect(conn.closed).toBe(false);
    report("in-flight behind LOGIN (8)", before, during);
    conn.end();
    good.close();
  });

  test("answers held back by a client that stops reading count as in flight", async () => {
    const app = await appliance(["--max-inflight", "8"]);
    const good = await bystander(app);
    const before = await probe(good, 50);
    // 60 requests for 256 KiB each, 5 ms apart, read only after 1.5 s: once the socket is full,
    // the answers held back count as in flight and requests beyond 8 are refused at once
    const n = 60;
    const slow = neverReads(
      app.socketOf("good"),
      "alice",
      encodeRequest("RANDOM", 1000, { length: 256 * 1024 }),
      {
        count: n,
        gapMs: 5,
        readAfterSeconds: 1.5,
      },
    );
    await Bun.sleep(800);
    const during = await probe(good, 50);
    const frames = await slow.frames;
    const answers = frames.slice(2);
    const ok = answers.filter((f) => f.status === Status.OK).length;
    const refused = answers.filter((f) => f.status === Status.LIMIT_EXCEEDED).length;
    console.log(
      `[limits] in-flight with a client that stops reading: ${ok} answered, ${refused} LIMIT_EXCEEDED of ${n}`,
    );
    expect(ok + refused).toBe(n);
    expect(refused).toBeGreaterThan(0);
    expect(ok).toBeGreaterThanOrEqual(8);
    report("in-flight with a client that stops reading (8)", before, during);
    good.close();
  });
});

describe("frame size (--max-frame 4096)", () => {
  test("a frame over the limit gets FRAME_TOO_LARGE and the connection is closed; the bystander is unaffected", async () => {
    const app = await appliance(["--max-frame", "4096"]);
    const good = await bystander(app);
    const before = await probe(good, 50);
    const conn = await rawSession(app.socketOf("good"));
    const h = new Uint8Array(HEADER_SIZE);
    writeHeader(h, { opcode: 0x0001, flags: 0, status: 0, requestId: 5, bodyLength: 1 << 20 });
    conn.write(h);
    await conn.waitClosed();
    expect(conn.frames.at(-1)!.status).toBe(Status.FRAME_TOO_LARGE);
    const during = await probe(good, 50);
    report("frame size (4096)", before, during);
    good.close();
  });
});

describe("idle timeout (--idle-timeout 1)", () => {
  test("a connection silent for a second is told why and closed; one that keeps asking stays open", async () => {
    const app = await appliance(["--idle-timeout", "1"]);
    const good = await bystander(app);
    const silent = await rawSession(app.socketOf("good"));
    const started = performance.now();
    let closedAfter = 0;
    const closing = silent.waitClosed(4000).then(() => {
      closedAfter = performance.now() - started;
    });
    // the bystander asks every 200 ms for 2.5 s: never idle
    const before = await probe(good, 10);
    while (performance.now() - started < 2500) {
      await probe(good, 1);
      await Bun.sleep(200);
    }
    await closing;
    expect(closedAfter).toBeGreaterThan(900);
    const last = silent.frames.at(-1)!;
    expect({ status: last.status, requestId: last.requestId }).toEqual({
      status: Status.LIMIT_EXCEEDED,
      requestId: 0,
    });
    expect(String(responseBody(last).message)).toContain("no request for 1 s");
    const during = await probe(good, 10);
    console.log(`[limits] idle connection closed ${Math.round(closedAfter)} ms after its last request`);
    report("idle timeout (1 s)", before, during);
    good.close();
  });
});

describe("slow client: answers pile up (4 MiB queue)", () => {
  test("a client that does not read while asking for 1 MiB random blocks stops being read; memory stays bounded; when it reads it gets every answer", async () => {
    const app = await appliance(["--max-outbound-queue", String(4 * 1024 * 1024)]);
    const good = await bystander(app);
    const before = await probe(good, 50);
    const rssBefore = rss(app);
    const slow = askForMiBs(app, { count: 64, gapMs: 1, readAfterSeconds: 3 });
    // 64 MiB asked for: the appliance answers ~2 MiB (half the queue limit), then waits for the client
    await until(async () => (await stats(app)).memory.heldBytes > 2 * 1024 * 1024, "answers to queue up");
    await Bun.sleep(500);
    const held = (await stats(app)).memory.heldBytes;
    expect(held).toBeLessThan(4 * 1024 * 1024);
    const during = await probe(good, 50);
    console.log(
      `[limits] slow client: appliance RSS ${rssBefore >> 20} MiB -> ${rss(app) >> 20} MiB, ${(held / 2 ** 20).toFixed(1)} MiB held, with 64 MiB of answers asked for`,
    );
    expect(rss(app) - rssBefore).toBeLessThan(48 * 1024 * 1024);
    report("slow client (4 MiB queue)", before, during);
    const answers = (await slow.frames).slice(2);
    expect(answers).toHaveLength(64);
    expect(answers.every((f) => f.status === Status.OK && f.body.length === 4 + 1024 * 1024)).toBe(true);
    expect(app.stderr).not.toContain("disconnecting");
    await until(async () => (await stats(app)).memory.heldBytes === 0, "the budget to be whole again");
    good.close();
  }, 20_000);
});

describe("the memory budget (--memory-budget): bytes held for all clients together", () => {
  test("spent by a client that does not read: requests are refused LIMIT_EXCEEDED, the non-reader is closed after 1 s, then service resumes", async () => {
    const app = await appliance(wholeBudget(3 * 1024 * 1024));
    const good = await bystander(app);
    const slow = askForMiBs(app, { count: 16, gapMs: 1, readAfterSeconds: 30 });
    await until(async () => (await stats(app)).memory.heldBytes > 3 * 1024 * 1024, "the budget to be spent");
    const refused = await good.hmac("k", "sha256", randomBytes(64)).catch((e) => e);
    expect(refused.code).toBe("LIMIT_EXCEEDED");
    expect(refused.message).toContain("the appliance is short of memory");
    // a request after the non-reader has been stalled for 1 s sheds it, and service resumes
    let mac: Buffer | null = null;
    const deadline = Date.now() + 10_000;
    while (!mac && Date.now() < deadline) {
      const data = randomBytes(64);
      mac = await good.hmac("k", "sha256", data).catch(() => null);
      if (mac) expect(mac.equals(createHmac("sha256", SECRET).update(data).digest())).toBe(true);
      else await Bun.sleep(200);
    }
    expect(mac).not.toBeNull();
    expect(app.stderr).toContain("client does not read its responses and the appliance is short of memory");
    const s = await stats(app);
    expect(s.memory.refusals).toBeGreaterThanOrEqual(1);
    expect(s.memory.heldBytes).toBeLessThan(64 * 1024);
    slow.proc.kill();
    good.close();
  }, 20_000);

  test("a request still arriving that would overspend it: LIMIT_EXCEEDED, that connection closed, nothing else harmed", async () => {
    const app = await appliance(wholeBudget(2 * 1024 * 1024));
    const good = await bystander(app);
    const conn = await rawSession(app.socketOf("good"), "alice", PIN);
    // an HMAC of 4 MiB, of which 3 MiB are sent: more than the budget while it is still arriving
    const request = encodeRequest("HMAC", 50, { keyId: "k", alg: 4, data: randomBytes(4 * 1024 * 1024) });
    conn.write(request.subarray(0, 3 * 1024 * 1024));
    await expectClosedWith(conn, "short of memory for requests");
    await until(async () => (await stats(app)).memory.heldBytes === 0, "the budget to be whole again");
    const data = randomBytes(1024 * 1024);
    expect(
      (await good.hmac("k", "sha256", data)).equals(createHmac("sha256", SECRET).update(data).digest()),
    ).toBe(true);
    good.close();
  }, 20_000);

  test("every byte counted is given back: after pipelined HMACs, RANDOMs, requests behind a LOGIN and a request cut off by the end of its connection, nothing is held", async () => {
    const app = await appliance([]);
    const good = await bystander(app);
    const big = randomBytes(3 * 1024 * 1024);
    const macs = await Promise.all(Array.from({ length: 24 }, () => good.hmac("k", "sha1", big)));
    expect(macs.every((m) => m.equals(createHmac("sha1", SECRET).update(big).digest()))).toBe(true);
    const pipelined = await rawSession(app.socketOf("good"));
    const burst = [encodeRequest("LOGIN", 2, { user: "alice", pin: utf8(PIN) })];
    for (let i = 0; i < 12; i++) burst.push(encodeRequest("RANDOM", 10 + i, { length: 1024 * 1024 }));
    pipelined.write(Buffer.concat(burst));
    await pipelined.next(13, 1, 10_000);
    expect(pipelined.frames.slice(1).every((f) => f.status === Status.OK)).toBe(true);
    const broken = await rawSession(app.socketOf("good"), "alice", PIN);
    broken.write(encodeRequest("HMAC", 9, { keyId: "k", alg: 1, data: big }).subarray(0, 2 * 1024 * 1024));
    await Bun.sleep(100);
    broken.write(randomBytes(1000)); // more of the body, still not all of it
    broken.end();
    pipelined.end();
    await until(async () => (await connections(app)) === 1, "the raw connections to close");
    expect((await stats(app)).memory.heldBytes).toBe(0);
    good.close();
    await until(async () => (await connections(app)) === 0, "the last connection to close");
    expect((await stats(app)).memory.heldBytes).toBe(0);
  }, 20_000);
});

describe("the memory budget: one container cannot spend it for the others (--container-memory-budget)", () => {
  test("a container whose clients hold their share is refused; another container's large requests are served", async () => {
    const MiB = 1024 * 1024;
    const app = await appliance(["--memory-budget", String(16 * MiB)]); // a container's share: 8 MiB
    const good = await bystander(app);
    (await app.setupClient("greedy", "mallory", PIN)).close();
    // 4 connections of container greedy ask for 32 MiB each and take it slowly (64 KiB every 40 ms):
    // they make progress, so they are not shed, and together they would hold ~20 MiB, more than the budget
    const greedy = Array.from({ length: 4 }, () =>
      neverReads(app.socketOf("greedy"), "mallory", encodeRequest("RANDOM", 7, { length: MiB }), {
        ...SLOW_READER,
        count: 32,
        readGapMs: 40,
      }),
    );
    await until(
      async () => ((await stats(app)).memory.byContainer.greedy ?? 0) > 7 * MiB,
      "container greedy to hold its share",
    );
    let most = 0;
    for (let i = 0; i < 12; i++) {
      const data = randomBytes(MiB);
      const mac = await good.hmac("k", "sha256", data);
      expect(mac.equals(createHmac("sha256", SECRET).update(data).digest())).toBe(true);
      const s = await stats(app);
      most = Math.max(most, s.memory.byContainer.greedy ?? 0);
      await Bun.sleep(50);
    }
    const s = await stats(app);
    expect(s.memory.containerBudgetBytes).toBe(8 * MiB);
    // each of its 4 connections may pass the share by the one answer that crossed it
    expect(most).toBeLessThanOrEqual(12 * MiB);
    expect(s.memory.refusals).toBeGreaterThanOrEqual(1);
    expect(app.stderr).not.toContain("disconnecting");
    for (const g of greedy) g.proc.kill();
    await until(async () => (await stats(app)).memory.heldBytes === 0, "the budget to be whole again");
    expect((await stats(app)).memory.byContainer).toEqual({});
    good.close();
  }, 30_000);

  test("a container flooding tiny requests it reads slowly cannot queue refusals past its share: the other container is served", async () => {
    const MiB = 1024 * 1024;
    const app = await appliance(["--memory-budget", String(16 * MiB)]); // a container's share: 8 MiB
    const good = await bystander(app);
    await app.enroll("evil");
    // 4 connections send 64 KiB bursts of 16-byte requests (unknown opcode, no login) every 5 ms and
    // read 256 KiB every 200 ms: every answer is an error, and taking some counts as progress
    const flood = `
      use IO::Socket::UNIX; use Time::HiRes qw(sleep time);
      my ($path, $secs) = @ARGV;
      my $s = IO::Socket::UNIX->new(Peer => $path) or die "connect: $!";
      my $burst = pack('a2CCnnNN', 'VH', 1, 0, 0xFFFF, 0, 7, 0) x 4096;
      my $end = time + $secs;
      if (fork() == 0) { while (time < $end) { syswrite($s, $burst) or exit 0; sleep(0.005); } exit 0; }
      while (time < $end) { sysread($s, my $buf, 262144); sleep(0.2); }`;
    const flooders = Array.from({ length: 4 }, () =>
      spawn(["perl", "-e", flood, app.socketOf("evil"), "6"], { stdout: "ignore", stderr: "ignore" }),
    );
    await until(
      async () => ((await stats(app)).memory.byContainer.evil ?? 0) > 4 * MiB,
      "container evil's refusals to pile up",
    );
    let most = 0;
    for (let i = 0; i < 40; i++) {
      const data = randomBytes(64);
      const mac = await good.hmac("k", "sha256", data);
      expect(mac.equals(createHmac("sha256", SECRET).update(data).digest())).toBe(true);
      most = Math.max(most, (await stats(app)).memory.byContainer.evil ?? 0);
      await Bun.sleep(50);
    }
    // past its share by at most what each connection read before it stopped being read
    expect(most).toBeLessThan(8 * MiB + 4 * 1.5 * MiB);
    // gone, and not read (their peers' end is not seen): the sweep brings the container back within
    // its share without anyone asking, shedding its stalled connections
    for (const f of flooders) f.kill();
    await until(
      async () => ((await stats(app)).memory.byContainer.evil ?? 0) <= 8 * MiB,
      "container evil to be back within its share",
    );
    good.close();
  }, 30_000);

  test("what a refused client is told names its container's share", async () => {
    const MiB = 1024 * 1024;
    const app = await applianceWithKey([
      "--memory-budget",
      String(16 * MiB),
      "--container-memory-budget",
      String(2 * MiB),
    ]);
    const conn = await rawSession(app.socketOf("good"), "alice", PIN);
    // 3 MiB of a 4 MiB HMAC: more than the container's 2 MiB while it is still arriving
    const request = encodeRequest("HMAC", 50, { keyId: "k", alg: 4, data: randomBytes(4 * MiB) });
    conn.write(request.subarray(0, 3 * MiB));
    await expectClosedWith(conn, "its share of the appliance's memory is 2 MiB");
    expect((await stats(app)).memory.heldBytes).toBe(0);
  }, 20_000);
});

describe("the memory budget: who pays when it is spent", () => {
  test("a client that reads its answers steadily is not taken for a non-reader: it gets every answer", async () => {
    const app = await appliance(wholeBudget(6 * 1024 * 1024));
    const good = await bystander(app);
    // 60 MiB of RANDOMs pipelined, read 64 KiB every 4 ms (~16 MB/s, ~4 s): the budget is near its end
    const reader = askForMiBs(app, { ...SLOW_READER, count: 60, readGapMs: 4 });
    await Bun.sleep(1500);
    // another client's large request spends the budget while the reader is held: the reader stays
    const other = await rawSession(app.socketOf("good"), "alice", PIN);
    other.write(
      encodeRequest("HMAC", 9, { keyId: "k", alg: 4, data: randomBytes(3 * 1024 * 1024) }).subarray(
        0,
        2.5 * 1024 * 1024,
      ),
    );
    const answers = (await reader.frames).slice(2);
    expect(answers.filter((f) => f.status === Status.OK)).toHaveLength(60);
    expect(app.stderr).not.toContain("short of memory; disconnecting");
    other.end();
    await until(async () => (await stats(app)).memory.heldBytes === 0, "the budget to be whole again");
    good.close();
  }, 30_000);

  test("requests a worker still hashes when their connection is closed stay counted until done", async () => {
    const app = await applianceWithKey([]);
    const conns = await Promise.all(
      Array.from({ length: 8 }, () => rawSession(app.socketOf("good"), "alice", PIN)),
    );
    const digest = encodeRequest("DIGEST", 5, { alg: 4, data: randomBytes(16 * 1024 * 1024) });
    // two 16 MiB SHA-512 digests each, then a broken header: the connection closes with them still queued
    for (const c of conns) c.write(Buffer.concat([digest, digest, Buffer.from("garbage!garbage!")]));
    await Promise.all(conns.map((c) => c.waitClosed(20_000)));
    await until(async () => (await connections(app)) === 0, "the connections to close");
    const held = (await stats(app)).memory.heldBytes;
    console.log(
      `[limits] bodies still hashed after their connections closed: ${(held / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(held).toBeGreaterThan(0);
    await until(async () => (await stats(app)).memory.heldBytes === 0, "the hashing to end", 20_000);
  }, 30_000);

  test("while it is spent, requests behind a slow LOGIN are refused instead of queued", async () => {
    // an unknown user's LOGIN still costs a KDF (2^17 here: ~0.3 s); 400 HMACs of 4 KiB, 1.7 MiB in
    // all, wait behind it. They go in whole frames, 8 at a time, so that none is cut across reads
    // (a request still arriving while the budget is spent would close the connection instead)
    const app = await applianceWithKey([...wholeBudget(1024 * 1024), "--kdf-log-n", "17"]);
    const conn = await rawSession(app.socketOf("good"));
    conn.write(encodeRequest("LOGIN", 2, { user: "nobody", pin: utf8(PIN) }));
    for (let i = 0; i < 400; i += 8) {
      const eight = Array.from({ length: 8 }, (_, j) =>
        encodeRequest("HMAC", 10 + i + j, { keyId: "k", alg: 1, data: randomBytes(4096) }),
      );
      conn.write(Buffer.concat(eight));
      await Bun.sleep(3);
    }
    await conn.next(401, 1, 15_000);
    const refused = conn.frames
      .slice(1)
      .filter(
        (f) =>
          f.status === Status.LIMIT_EXCEEDED && String(responseBody(f).message).includes("short of memory"),
      );
    expect(refused.length).toBeGreaterThan(100);
    expect((await stats(app)).memory.refusals).toBe(refused.length);
    conn.end();
    await until(async () => (await stats(app)).memory.heldBytes === 0, "the budget to be whole again");
  }, 30_000);

  test("requests begun and left without progress are shed, not the client whose request moves", async () => {
    const app = await appliance(wholeBudget(16 * 1024 * 1024));
    const good = await bystander(app);
    const squatters = await Promise.all(
      Array.from({ length: 5 }, () => rawSession(app.socketOf("good"), "alice", PIN)),
    );
    const big = encodeRequest("HMAC", 50, { keyId: "k", alg: 2, data: randomBytes(16 * 1024 * 1024 - 64) });
    for (const c of squatters) c.write(big.subarray(0, 3 * 1024 * 1024)); // 3 MiB of 16, then silence
    await until(
      async () => (await stats(app)).memory.heldBytes >= 14 * 1024 * 1024,
      "the squatters' bytes to arrive",
    );
    await Bun.sleep(1200);
    const data = randomBytes(2 * 1024 * 1024);
    expect(
      (await good.hmac("k", "sha256", data)).equals(createHmac("sha256", SECRET).update(data).digest()),
    ).toBe(true);
    const shed = squatters.filter((c) => c.closed);
    expect(shed.length).toBeGreaterThanOrEqual(1);
    expect(String(responseBody(shed[0]!.frames.at(-1)!).message)).toContain("made no progress");
    for (const c of squatters) c.end();
    good.close();
  }, 30_000);

  test("a client the appliance stopped reading is not idle while it takes its answers", async () => {
    const app = await applianceWithKey(["--idle-timeout", "1"]);
    // 8 MiB of answers read at ~1.3 MB/s: ~6 s with its later requests unread, much longer than 1 s
    const reader = askForMiBs(app, { ...SLOW_READER, count: 8, readGapMs: 50 });
    const answers = (await reader.frames).slice(2);
    expect(answers.filter((f) => f.status === Status.OK)).toHaveLength(8); // (then it is idle, and closed)
  }, 30_000);

  test("a half-closed client that reads slowly gets its last answers: the linger restarts while it takes them", async () => {
    const app = await applianceWithKey([]);
    const reader = askForMiBs(app, { ...SLOW_READER, count: 8, readGapMs: 50, halfClose: true });
    const answers = (await reader.frames).slice(2);
    expect(answers.filter((f) => f.status === Status.OK)).toHaveLength(8);
  }, 30_000);

  test("a client that never reads is still closed at the idle timeout, though requests of it wait", async () => {
    const app = await applianceWithKey(["--idle-timeout", "1"]);
    // 8 MiB of answers asked for and none read: past 4 MiB the rest wait, and so would the connection
    askForMiBs(app, {
      count: 8,
      gapMs: 0,
      readAfterSeconds: 10,
    });
    await until(async () => (await stats(app)).memory.heldBytes > 4 * 1024 * 1024, "answers to queue up");
    await until(async () => (await connections(app)) === 0, "the idle close", 5000);
    expect(app.stderr).toContain("closing idle connection");
    await until(async () => (await stats(app)).memory.heldBytes === 0, "the budget to be whole again");
  }, 30_000);

  test("a half-closed client that pipelined its LOGIN and reads slowly gets every answer", async () => {
    const app = await applianceWithKey([]);
    const reader = askForMiBs(app, {
      ...SLOW_READER,
      count: 4,
      readGapMs: 60,
      halfClose: true,
      pipelined: true,
    });
    const frames = await reader.frames;
    expect(frames.filter((f) => f.requestId === 7 && f.status === Status.OK)).toHaveLength(4);
  }, 30_000);

  test("shedding clients that make no progress is not cut short: a moving upload is served", async () => {
    const app = await appliance(wholeBudget(24 * 1024 * 1024));
    const good = await bystander(app);
    // 4 clients hold ~4.8 MiB of unread answers each, stalled for more than a second
    const squatters = Array.from({ length: 4 }, () =>
      askForMiBs(app, {
        count: 8,
        gapMs: 0,
        readAfterSeconds: 30,
      }),
    );
    await until(async () => (await stats(app)).memory.heldBytes > 18 * 1024 * 1024, "answers to queue up");
    await Bun.sleep(1500);
    // a 12 MiB HMAC needs two or three of them shed, one after the other as its bytes arrive
    const data = randomBytes(12 * 1024 * 1024);
    expect(
      (await good.hmac("k", "sha256", data)).equals(createHmac("sha256", SECRET).update(data).digest()),
    ).toBe(true);
    for (const q of squatters) q.proc.kill();
    good.close();
  }, 30_000);

  test("a request's bytes count once: a client alone within the budget is not refused", async () => {
    const app = await applianceWithKey(wholeBudget(16 * 1024 * 1024));
    const conn = await rawSession(app.socketOf("good"), "alice", PIN);
    for (let round = 0; round < 3; round++) {
      // a 10 MiB HMAC (a worker hashes it) and a small RANDOM right behind it in the same write
      const from = conn.frames.length;
      conn.write(
        Buffer.concat([
          encodeRequest("HMAC", 100 + round, { keyId: "k", alg: 2, data: randomBytes(10 * 1024 * 1024) }),
          encodeRequest("RANDOM", 200 + round, { length: 16 }),
        ]),
      );
      await conn.next(2, from, 10_000);
      expect(conn.frames.slice(from).map((f) => f.status)).toEqual([Status.OK, Status.OK]);
    }
    expect((await stats(app)).memory.refusals).toBe(0);
    conn.end();
  }, 30_000);
});

/** A memory budget of `bytes`, all of which container `good` may hold (these tests have one container). */
function wholeBudget(bytes: number): string[] {
  return ["--memory-budget", String(bytes), "--container-memory-budget", String(bytes)];
}

async function stats(app: TestAppliance): Promise<{
  memory: {
    heldBytes: number;
    budgetBytes: number;
    containerBudgetBytes: number;
    byContainer: Record<string, number>;
    refusals: number;
  };
}> {
  return (await app.admin("GET", "/v1/stats")).json;
}

function rss(app: TestAppliance): number {
  const status = require("node:fs").readFileSync(`/proc/${app.proc!.pid}/status`, "utf8") as string;
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** A client that sends its requests at once and reads 64 KiB at a time, `readGapMs` apart. */
const SLOW_READER = { gapMs: 0, readAfterSeconds: 0, readBytes: 64 * 1024 };

/** neverReads as alice of container `good`, asking for RANDOMs of 1 MiB (request id 7). */
function askForMiBs(app: TestAppliance, o: Parameters<typeof neverReads>[3]) {
  return neverReads(app.socketOf("good"), "alice", encodeRequest("RANDOM", 7, { length: 1024 * 1024 }), o);
}

/**
 * A client in its own process (perl: no runtime of ours) that logs in, sends `count` copies of a request
 * `gapMs` apart (then half-closes, with `halfClose`) and reads what comes back only after
 * `readAfterSeconds`, and then, with `readBytes`, at most that many bytes every `readGapMs`: a slow
 * reader. A socket paused inside this test process would not do: the runtime may go on reading.
 */
function neverReads(
  path: string,
  user: string,
  request: Uint8Array,
  o: {
    count: number;
    gapMs: number;
    readAfterSeconds: number;
    readBytes?: number;
    readGapMs?: number;
    halfClose?: boolean;
    /** Send the requests right behind HELLO and LOGIN, without waiting for their answers. */
    pipelined?: boolean;
  },
): { proc: ReturnType<typeof spawn>; frames: Promise<Frame[]> } {
  const setup = Buffer.concat([
    encodeRequest("HELLO", 1, hello),
    encodeRequest("LOGIN", 2, { user, pin: utf8(PIN) }),
  ]).toString("hex");
  const script = `
    use IO::Socket::UNIX; use IO::Select; use Time::HiRes qw(sleep);
    my ($path, $setup, $req, $count, $gap, $after, $rb, $rgap, $half, $piped) = @ARGV;
    my $s = IO::Socket::UNIX->new(Peer => $path) or die "connect: $!";
    binmode STDOUT; $| = 1;
    sub frame { my $h = ''; while (length($h) < 16) { sysread($s, $h, 16 - length($h), length($h)) or die "eof" }
      my $len = unpack('N', substr($h, 12, 4)); my $b = '';
      while (length($b) < $len) { sysread($s, $b, $len - length($b), length($b)) or die "eof" } print $h, $b; }
    syswrite($s, pack('H*', $setup)); unless ($piped) { frame(); frame(); }
    for (1..$count) { syswrite($s, pack('H*', $req)); sleep($gap / 1000); }
    shutdown($s, 1) if $half;
    sleep($after);
    my $sel = IO::Select->new($s);
    while ($sel->can_read(1.0)) { my $n = sysread($s, my $buf, $rb); last unless $n; print $buf; sleep($rgap / 1000); }`;
  const proc = spawn(
    [
      "perl",
      "-e",
      script,
      path,
      setup,
      Buffer.from(request).toString("hex"),
      String(o.count),
      String(o.gapMs),
      String(o.readAfterSeconds),
      String(o.readBytes ?? 1 << 20),
      String(o.readGapMs ?? 0),
      o.halfClose ? "1" : "0",
      o.pipelined ? "1" : "0",
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const frames = new Response(proc.stdout as ReadableStream<Uint8Array>).arrayBuffer().then((bytes) => {
    const out: Frame[] = [];
    new FrameReader(DEFAULT_MAX_BODY, (f) => out.push({ ...f, body: f.body.slice() })).push(
      new Uint8Array(bytes),
    );
    return out;
  });
  return { proc, frames };
}
