/**
 * End to end: the compiled appliance's dashboard in a real terminal (tmux), under load from the agent
 * library. `top` attaches to a running appliance and leaves it serving on `q`; `serve` on a TTY shows
 * the dashboard and stops only after `q` is confirmed. VHSM_SAVE_SCREEN=1 writes docs/dashboard.txt.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { $ } from "bun";
import type { VhsmClient } from "../agent/index.ts";
import {
  BUN,
  COMPILED_APPLIANCE,
  ROOT,
  startTestAppliance,
  type TestAppliance,
  tempDir,
} from "./support/appliance.ts";

const hasTmux = Bun.which("tmux") !== null;
if (!hasTmux) console.warn("SKIP dashboard end-to-end tests: tmux is not installed (apt-get install tmux)");

/** A private tmux server, so the tests never touch the operator's own sessions. */
const TMUX = ["tmux", "-L", `vhsm-dashboard-${process.pid}`];
const tmux = (...args: string[]) => $`${TMUX} ${args}`.quiet().nothrow();
const screen = async (session: string) => (await tmux("capture-pane", "-p", "-t", session)).stdout.toString();

async function until(
  session: string,
  what: string,
  ok: (s: string) => boolean,
  ms = 15_000,
): Promise<string> {
  const deadline = Date.now() + ms;
  let s = "";
  while (Date.now() < deadline) {
    s = await screen(session);
    if (ok(s)) return s;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}; the screen was:\n${s}`);
}

/** HMAC-SHA256 over 4 KiB with `depth` requests in flight until `stop()`; container rows need ops. */
function load(client: VhsmClient, keyId: string, depth: number) {
  let running = true;
  const data = Buffer.alloc(4096, 1);
  const done = (async () => {
    while (running)
      await Promise.all(Array.from({ length: depth }, () => client.hmac(keyId, "sha256", data)));
  })();
  return async () => {
    running = false;
    await done;
  };
}

const rowOf = (s: string, name: string) => s.split("\n").find((l) => new RegExp(`│${name}\\s`).test(l)) ?? "";

/**
 * `serve` (with the dashboard, or headless) alone in tmux session `s`, up and ready; its pid (the
 * appliance itself, not the shell tmux started it from) and its sockets.
 */
async function serveInTmux(s: string, dir: string, headless: boolean) {
  const data = join(dir, `${s}-data`);
  const run = join(dir, `${s}-run`);
  await tmux(
    "new-session", "-d", "-s", s, "-x", "100", "-y", "30",
    `${COMPILED_APPLIANCE} serve ${headless ? "--headless " : ""}--data ${data} --run-dir ${run} --kdf-log-n 12`,
  ); // biome-ignore format: one tmux argument per intent
  if (headless) await until(s, "the appliance", (x) => x.includes("appliance ready"));
  else
    await until(s, "the dashboard", (x) => x.includes("self-test passed") && x.includes("source in-process"));
  const pids = (await $`pgrep -f -- ${`--data ${data}`}`.quiet().nothrow()).stdout.toString().split(/\s+/);
  const pid = Number(pids.find((p) => p && readlinkSync(`/proc/${p}/exe`) === COMPILED_APPLIANCE));
  expect(pid).toBeGreaterThan(0);
  return { pid, run, admin: join(run, "admin.sock") };
}

async function exited(pid: number, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await Bun.sleep(50);
  return !existsSync(`/proc/${pid}`);
}

beforeAll(async () => {
  if (!hasTmux) return;
  const built = await $`${BUN} ${join(ROOT, "scripts/build.ts")} appliance`.quiet().nothrow();
  if (built.exitCode !== 0) throw new Error(`build failed: ${built.stderr}`);
}, 120_000);

afterAll(async () => {
  if (hasTmux) await tmux("kill-server");
});

describe.skipIf(!hasTmux)("vhsm-appliance top, attached in tmux", () => {
  let app: TestAppliance;
  const clients: VhsmClient[] = [];

  beforeAll(async () => {
    app = await startTestAppliance({ compiled: true });
    for (const c of ["web", "billing", "batch"]) clients.push(await app.setupClient(c));
    // two wrong PINs: the events panel has errors to explain
    for (let i = 0; i < 2; i++) await app.client("batch", "alice", "wrong-pin").catch(() => {});
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await app?.dispose();
  });

  test("shows the chart and container rows changing, keys work, resize keeps it readable, q leaves the appliance serving", async () => {
    const s = "top";
    await tmux(
      "new-session", "-d", "-s", s, "-x", "120", "-y", "40",
      `${COMPILED_APPLIANCE} top --admin-socket ${app.adminSocket}; echo TOP-EXITED $?; sleep 600`,
    ); // biome-ignore format: one tmux argument per intent
    await until(s, "the first snapshot", (x) => x.includes("self-test passed") && x.includes("containers 3"));

    const [web, billing] = clients as [VhsmClient, VhsmClient];
    const webKey = await web.keys.import(Buffer.alloc(32, 7));
    const billingKey = await billing.keys.import(Buffer.alloc(32, 8));
    const stopWeb = load(web, webKey, 16);
    const stopBilling = load(billing, billingKey, 2);
    try {
      // the chart grows blocks and the hmac rate becomes non-zero
      const busy = await until(s, "hmac traffic", (x) => /█ hmac\s+[1-9]/.test(x) && /[▁-█]{2,}/.test(x));
      expect(rowOf(busy, "web")).toMatch(/web\s+1\s+[1-9]/); // one session, ops/s > 0
      // sorted by ops/s: the busier web above billing above the idle batch
      const order = ["web", "billing", "batch"].map((n) => busy.indexOf(`│${n} `));
      expect(order[0]!).toBeLessThan(order[1]!);
      expect(order[1]!).toBeLessThan(order[2]!);
      const before = rowOf(busy, "web");
      const later = await until(s, "the web row to change", (x) => rowOf(x, "web") !== before);
      expect(rowOf(later, "web")).not.toBe(before);
      if (process.env.VHSM_SAVE_SCREEN) writeFileSync(join(ROOT, "docs/dashboard.txt"), later);

      // s: sort by errors (all zero, so by name); / filters
      await tmux("send-keys", "-t", s, "s");
      const byErrors = await until(s, "sort by errors", (x) => x.includes("sort: errors"));
      expect(byErrors.indexOf("│batch ")).toBeLessThan(byErrors.indexOf("│web "));
      await tmux("send-keys", "-t", s, "/");
      await tmux("send-keys", "-t", s, "-l", "bill");
      await tmux("send-keys", "-t", s, "Enter");
      const filtered = await until(s, "the filter", (x) => x.includes("Containers 1 of 3"));
      expect(rowOf(filtered, "web")).toBe("");
      expect(rowOf(filtered, "billing")).not.toBe("");

      // Enter on the row: its users and key counts
      await tmux("send-keys", "-t", s, "Enter");
      const users = await until(
        s,
        "the users view",
        (x) => x.includes("Users of billing") && x.includes("alice"),
      );
      expect(users).toMatch(/alice\s+1\s+no\s+yes\s+0/);
      await tmux("send-keys", "-t", s, "Escape");
      await until(s, "back to the table", (x) => x.includes("Containers 1 of 3"));

      // ? help, p pause
      await tmux("send-keys", "-t", s, "?");
      await until(s, "help", (x) => x.includes("cycle the sort column"));
      await tmux("send-keys", "-t", s, "?");
      await tmux("send-keys", "-t", s, "p");
      await until(s, "pause", (x) => x.includes("PAUSED"));
      await tmux("send-keys", "-t", s, "p");

      // 80×24: one panel at a time, nothing wider than the terminal
      await tmux("resize-window", "-t", s, "-x", "80", "-y", "24");
      await tmux("send-keys", "-t", s, "1");
      const small = await until(
        s,
        "the small layout",
        (x) => x.includes("[1 traffic]") && !x.includes("Containers"),
      );
      const lines = small.trimEnd().split("\n");
      expect(lines.length).toBeLessThanOrEqual(24);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
      expect(small).toContain("self-test passed");
      expect(small).toMatch(/█ hmac\s+[\d.]+k?\s/);
      expect(small).toContain("q quit");
      await tmux("send-keys", "-t", s, "Tab");
      await until(s, "the containers panel", (x) => x.includes("[2 containers]") && x.includes("Containers"));
    } finally {
      await stopWeb();
      await stopBilling();
    }

    await tmux("send-keys", "-t", s, "q");
    await until(s, "top to exit", (x) => x.includes("TOP-EXITED 0"));
    // the appliance did not notice: still healthy, the clients still work
    expect((await app.admin("GET", "/health")).status).toBe(200);
    expect((await web.hmac(webKey, "sha256", Buffer.from("still serving"))).length).toBe(32);
  }, 90_000);
});

describe.skipIf(!hasTmux)("vhsm-appliance serve on a terminal", () => {
  const dir = hasTmux ? tempDir("vhsm-dash-") : "";
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("shows the dashboard; q asks, n keeps serving, y stops the appliance", async () => {
    const s = "serve";
    const run = join(dir, "run");
    const admin = join(run, "admin.sock");
    await tmux(
      "new-session", "-d", "-s", s, "-x", "100", "-y", "30",
      `${COMPILED_APPLIANCE} serve --data ${join(dir, "data")} --run-dir ${run} --kdf-log-n 12; echo SERVE-EXITED $?; sleep 600`,
    ); // biome-ignore format: one tmux argument per intent
    await until(s, "the dashboard", (x) => x.includes("self-test passed") && x.includes("source in-process"));
    expect(existsSync(admin)).toBe(true);
    // log lines go to the events panel instead of over the screen
    await tmux("send-keys", "-t", s, "3");
    await until(s, "the log in the events panel", (x) => x.includes("appliance ready"));

    await tmux("send-keys", "-t", s, "q");
    await until(s, "the question", (x) => x.includes("Stop the appliance?"));
    await tmux("send-keys", "-t", s, "n");
    await until(s, "the question to go", (x) => !x.includes("Stop the appliance?"));
    const health = await fetch("http://localhost/health", { unix: admin } as RequestInit);
    expect(health.status).toBe(200);

    await tmux("send-keys", "-t", s, "q");
    await until(s, "the question", (x) => x.includes("Stop the appliance?"));
    await tmux("send-keys", "-t", s, "y");
    const after = await until(s, "serve to exit", (x) => x.includes("SERVE-EXITED 0"));
    expect(after).toContain("appliance stopped");
    expect(existsSync(admin)).toBe(false);
  }, 60_000);

  test("a terminal that hangs up (its tmux session killed) stops the appliance cleanly instead of leaving it drawing into nothing", async () => {
    const { pid, admin } = await serveInTmux("hangup", dir, false);
    await tmux("kill-session", "-t", "hangup");
    expect(await exited(pid)).toBe(true);
    expect(existsSync(admin)).toBe(false); // a clean stop removes its sockets
  }, 60_000);

  test("headless, a terminal that hangs up costs only the log lines: the appliance keeps serving and stops cleanly on SIGTERM", async () => {
    const { pid, run, admin } = await serveInTmux("hangup-headless", dir, true);
    await tmux("kill-session", "-t", "hangup-headless");
    await Bun.sleep(300);
    // enrolling a container logs a line, which now goes to a terminal that is gone
    const enrolled = await fetch("http://localhost/v1/containers", {
      method: "POST",
      unix: admin,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "after-hangup" }),
    } as RequestInit);
    expect(enrolled.ok).toBe(true);
    await Bun.sleep(500);
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    expect((await fetch("http://localhost/health", { unix: admin } as RequestInit)).status).toBe(200);
    expect(existsSync(join(run, "containers/after-hangup/vhsm.sock"))).toBe(true);
    process.kill(pid, "SIGTERM");
    expect(await exited(pid)).toBe(true);
    expect(existsSync(admin)).toBe(false);
  }, 60_000);
});
