/**
 * Secrets at the edges: file and socket permissions (and that the kernel enforces them against
 * other uids), PINs absent from the appliance's log and audit log even at debug level and on the
 * failure paths, PINs absent from the CLI tools' /proc/PID/cmdline and environment while they run,
 * and core dumps disabled for the appliance. PIN lockout under concurrency is in sessions.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { spawn, spawnSync } from "bun";
import { BUN, ROOT, startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { code } from "./support/outcome.ts";

let app: TestAppliance;
const PIN = `pin-${randomBytes(6).toString("hex")}`;
const NEW_PIN = `new-${randomBytes(6).toString("hex")}`;
const WRONG_PIN = `wrong-${randomBytes(6).toString("hex")}`;
const RESET_PIN = `reset-${randomBytes(6).toString("hex")}`;
const SECRET = randomBytes(32);

beforeAll(async () => {
  app = await startTestAppliance({ args: ["--log-level", "debug"] });
  const c = await app.setupClient("sec", "alice", PIN);
  await c.keys.import(SECRET, { id: "k" });
  c.close();
  await app.admin("POST", "/v1/containers", { name: "mapped", uid: 100000, gid: 100001 });
});
afterAll(async () => {
  await app?.dispose();
});

describe("permissions", () => {
  test("everything under the data dir is owner-only: dirs 0700, files 0600", () => {
    const walk = (dir: string): [string, number][] =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        const st = statSync(path);
        return st.isDirectory()
          ? [[path, st.mode & 0o777] as [string, number], ...walk(path)]
          : [[path, st.mode & 0o777] as [string, number]];
      });
    const entries = [
      [app.dataDir, statSync(app.dataDir).mode & 0o777] as [string, number],
      ...walk(app.dataDir),
    ];
    const names = entries.map(([p]) => p.slice(app.dataDir.length) || "/");
    expect(names).toEqual(expect.arrayContaining(["/", "/vhsm.db", "/state", "/audit", "/audit/audit.log"]));
    for (const [path, mode] of entries) {
      const dir = statSync(path).isDirectory();
      expect([path, mode]).toEqual([path, dir ? 0o700 : 0o600]);
    }
  });

  const PERL_CONNECT = [
    "perl",
    "-MIO::Socket::UNIX",
    "-e",
    'IO::Socket::UNIX->new(Peer => $ARGV[0]) ? print "connected" : print "$!"',
  ];
  const asUser = (uid: number, gid: number) => [
    "setpriv",
    `--reuid=${uid}`,
    `--regid=${gid}`,
    "--clear-groups",
  ];

  /** Tries to connect to a Unix socket on the host as another uid/gid (setpriv + perl: no runtime needed). */
  function connectAs(uid: number, gid: number, socket: string): string {
    const r = spawnSync([...asUser(uid, gid), ...PERL_CONNECT, socket]);
    return r.stdout.toString() || r.stderr.toString();
  }

  /**
   * Connects as a container's process would: the container's socket directory bind-mounted (by
   * root, in a private mount namespace) at a path of its own, then the socket opened as uid/gid.
   */
  function connectInContainer(uid: number, gid: number, container: string): string {
    const mountPoint = mkdtempSync(join(tmpdir(), "vhsm-mnt-"));
    chmodSync(mountPoint, 0o755);
    try {
      const script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"';
      const src = dirname(app.socketOf(container));
      const r = spawnSync([
        "unshare",
        "-m",
        "sh",
        "-c",
        script,
        "sh",
        src,
        mountPoint,
        ...asUser(uid, gid),
        ...PERL_CONNECT,
        join(mountPoint, "vhsm.sock"),
      ]);
      return r.stdout.toString() || r.stderr.toString();
    } finally {
      rmSync(mountPoint, { recursive: true, force: true });
    }
  }

  test("the kernel enforces the socket modes: only the mapped uid/gid reach a container, nobody else the admin socket", () => {
    // the test's temp dir is 0700; let other uids traverse it, as /run is in production
    chmodSync(app.dir, 0o711);
    chmodSync(dirname(app.adminSocket), 0o711);
    expect(connectInContainer(100000, 100000, "mapped")).toBe("connected");
    expect(connectInContainer(300000, 100001, "mapped")).toBe("connected");
    expect(connectInContainer(300000, 300000, "mapped")).toBe("Permission denied");
    expect(connectAs(100000, 100001, app.adminSocket)).toBe("Permission denied");
    // a container enrolled without uid/gid is reachable by any uid inside it (its mount is the boundary)
    expect(connectInContainer(300000, 300000, "sec")).toBe("connected");
    // and on the host, by no one but root: <run>/containers is 0700
    expect(connectAs(300000, 300000, app.socketOf("sec"))).toBe("Permission denied");
    expect(connectAs(100000, 100000, app.socketOf("mapped"))).toBe("Permission denied");
  });
});

describe("PINs never reach a log", () => {
  test("login, wrong PIN, PIN change and operator reset leave no PIN in the log (debug level) or the audit log", async () => {
    expect(await code(app.client("sec", "alice", WRONG_PIN))).toBe("BAD_CREDENTIALS");
    const c = await app.client("sec", "alice", PIN);
    await c.changePin(PIN, NEW_PIN);
    expect(await code(c.changePin(WRONG_PIN, PIN))).toBe("BAD_CREDENTIALS");
    c.close();
    const reset = await app.admin("POST", "/v1/containers/sec/users/alice/reset-pin", {
      pin: RESET_PIN,
      destroyKeys: true,
    });
    expect(reset.status).toBeLessThan(300);
    expect(await code(app.admin("POST", "/v1/containers/sec/users", { name: "bob", pin: "x" }))).toBe("OK");
    await app.stop();
    const audit = readdirSync(join(app.dataDir, "audit"))
      .map((f) => readFileSync(join(app.dataDir, "audit", f), "utf8"))
      .join("\n");
    // (the appliance has no debug-level lines today; the level is set so that any added later are checked)
    expect(audit).toContain("PIN_CHANGE");
    for (const pin of [PIN, NEW_PIN, WRONG_PIN, RESET_PIN]) {
      for (const form of [pin, Buffer.from(pin).toString("hex"), Buffer.from(pin).toString("base64")]) {
        expect(app.stderr.includes(form)).toBe(false);
        expect(audit.includes(form)).toBe(false);
      }
    }
    await app.start();
  });
});

describe("PINs never on a command line", () => {
  test("vhsm reads the PIN from a file: not in its /proc/PID/cmdline or environ while it runs", async () => {
    const c = await app.setupClient("sec", "carol", PIN);
    await c.keys.import(SECRET, { id: "k" });
    c.close();
    const pinFile = join(app.dir, "pin");
    writeFileSync(pinFile, `${PIN}\n`, { mode: 0o600 });
    const cli = spawn([BUN, join(ROOT, "agent/cli/main.ts"), "hmac", "--key", "k", "--alg", "sha256"], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, VHSM_SOCKET: app.socketOf("sec"), VHSM_USER: "carol", VHSM_PIN_FILE: pinFile },
    });
    // it waits for its input on stdin: look at it now
    await Bun.sleep(500);
    expect(cli.exitCode).toBeNull();
    const cmdline = readFileSync(`/proc/${cli.pid}/cmdline`, "utf8");
    const environ = readFileSync(`/proc/${cli.pid}/environ`, "utf8");
    expect(cmdline).toContain("hmac");
    expect(cmdline.includes(PIN)).toBe(false);
    expect(environ).toContain("VHSM_PIN_FILE");
    expect(environ.includes(PIN)).toBe(false);
    cli.stdin.write("data");
    await cli.stdin.end();
    expect(await cli.exited).toBe(0);
    expect((await new Response(cli.stdout).text()).trim()).toBe(
      createHmac("sha256", SECRET).update("data").digest("hex"),
    );
  });

  test("vhsm-provision sends the PIN over the admin socket, never on its command line", async () => {
    // a stand-in admin socket that never answers keeps the tool alive with the PIN in flight
    const fake = join(app.dir, "fake-admin.sock");
    let received = "";
    const server = Bun.listen({
      unix: fake,
      socket: {
        data: (_s, chunk) => {
          received += Buffer.from(chunk).toString();
        },
      },
    });
    const pinFile = join(app.dir, "pin2");
    writeFileSync(pinFile, `${PIN}\n`, { mode: 0o600 });
    const tool = spawn(
      [
        BUN,
        join(ROOT, "provision/main.ts"),
        "--admin-socket",
        fake,
        "user",
        "add",
        "--container",
        "sec",
        "dave",
        "--pin-file",
        pinFile,
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    const deadline = Date.now() + 5000;
    while (!received.includes(PIN) && Date.now() < deadline) await Bun.sleep(20);
    expect(received).toContain(PIN);
    expect(tool.exitCode).toBeNull();
    expect(readFileSync(`/proc/${tool.pid}/cmdline`, "utf8").includes(PIN)).toBe(false);
    expect(readFileSync(`/proc/${tool.pid}/environ`, "utf8").includes(PIN)).toBe(false);
    tool.kill();
    server.stop(true);
  });

  test("both tools refuse --pin=VALUE with exit 2 and do not echo the value", () => {
    for (const argv of [
      [join(ROOT, "agent/cli/main.ts"), `--pin=${PIN}`, "key", "list"],
      [join(ROOT, "provision/main.ts"), "user", "add", "--container", "sec", "eve", `--pin=${PIN}`],
    ]) {
      const r = spawnSync([BUN, ...argv], { env: { ...process.env, VHSM_SOCKET: "/nonexistent" } });
      expect(r.exitCode).toBe(2);
      expect((r.stdout.toString() + r.stderr.toString()).includes(PIN)).toBe(false);
    }
  });
});

describe("core dumps", () => {
  test("the appliance runs with RLIMIT_CORE 0 and did not warn that it could not disable them", () => {
    const limits = readFileSync(`/proc/${app.proc!.pid}/limits`, "utf8");
    const core = limits.split("\n").find((l) => l.startsWith("Max core file size"))!;
    expect(core.split(/\s{2,}/).slice(1, 3)).toEqual(["0", "0"]);
    expect(app.stderr).not.toContain("could not disable core dumps");
  });
});
