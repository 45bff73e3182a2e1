/**
 * `enroll --from FILE` at scale against the real appliance, and runtime sockets that fail for real
 * (no daemon, nothing listening, permission denied): the CLI as a subprocess, no mocks.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { UnixSocketListener } from "bun";
import { runCli } from "../provision/cli.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { provisionCli } from "./support/cli-runner.ts";

let app: TestAppliance;

beforeAll(async () => {
  app = await startTestAppliance();
});
afterAll(async () => {
  await app?.dispose();
});

const provision = provisionCli(() => app.adminSocket);
const cli = (args: string[], o: { stdin?: string; wrap?: string[] } = {}) =>
  provision(args, { stdin: o.stdin, wrap: o.wrap, env: { HOME: app.dir } });

const names = async () =>
  ((await app.admin("GET", "/v1/containers")).json as any[]).map((c) => c.name as string).sort();

describe("enroll --from FILE", () => {
  const bulk = Array.from({ length: 200 }, (_, i) => `bulk-${String(i).padStart(3, "0")}`);

  test("enrolls 200 containers, one plain line each, and list shows them all", async () => {
    const file = join(app.dir, "containers.txt");
    writeFileSync(file, `# fleet\n${bulk.join("\n")}\n\n`);
    const started = performance.now();
    const r = await cli(["enroll", "--from", file]);
    const ms = performance.now() - started;
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(201); // one per container + the summary
    expect(lines.filter((l) => l.endsWith(": enrolled"))).toHaveLength(200);
    expect(lines.at(-1)).toBe("200 of 200 enrolled, 0 failed");
    expect(r.stderr).not.toContain("\r"); // no progress bar when stderr is not a terminal

    const list = await cli(["--json", "list"]);
    const listed = (list.json as any[]).filter((c) => c.name.startsWith("bulk-"));
    expect(listed.map((c) => c.name).sort()).toEqual(bulk);
    expect(listed.every((c) => !c.revoked && c.users === 0)).toBe(true);
    console.log(`enrolled 200 containers in ${ms.toFixed(0)} ms (subprocess, incl. start-up)`);
  });

  test("the same file again: all already enrolled, exit 0", async () => {
    const r = await cli(["--json", "enroll", "--from", join(app.dir, "containers.txt")]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ total: 200, enrolled: 200, failed: 0 });
    expect(r.json.results.every((x: any) => x.outcome === "already enrolled")).toBe(true);
  });

  test("JSON lines with runtime and uid/gid, from stdin", async () => {
    const input = [
      '{"name": "jl-a", "runtime": "none", "uid": 5001, "gid": 5002}',
      '{"name": "jl-b", "runtime": "openvz"}',
      "jl-c",
    ].join("\n");
    const r = await cli(["--json", "enroll", "--from", "-"], { stdin: input });
    expect(r.code).toBe(0);
    const [a, b, c] = r.json.results;
    expect(a).toMatchObject({ name: "jl-a", uid: 5001, gid: 5002, mount: { runtime: "none" } });
    expect(b).toMatchObject({ name: "jl-b", mount: { runtime: "openvz", state: "manual" } });
    expect(c.mount).toBeUndefined();
  });

  test("a file with bad lines is refused whole: exit 2, nothing enrolled", async () => {
    const before = await names();
    const file = join(app.dir, "bad.txt");
    writeFileSync(
      file,
      [
        "ok-1",
        "Not Valid",
        '{"name": "ok-2", "runtime": "kubernetes"}',
        "{broken",
        '{"name": "ok-3", "pin": "1234"}',
        "ok-1",
      ].join("\n"),
    );
    const r = await cli(["--json", "enroll", "--from", file]);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe("BAD_ARGUMENTS");
    for (const where of [
      "line 2",
      "line 3: runtime",
      "line 4: not valid JSON",
      "line 5",
      "line 6: ok-1 already on line 1",
    ])
      expect(r.json.error.message).toContain(where);
    expect(await names()).toEqual(before);
  });

  test("a line that is refused fails alone: the rest are enrolled, exit 8", async () => {
    const file = join(app.dir, "mixed.txt");
    writeFileSync(file, ["mx-1", "mx-2", `${"x".repeat(70)}`, "mx-3"].join("\n"));
    const r = await cli(["enroll", "--from", file]);
    expect(r.code).toBe(8);
    expect(r.stderr).toContain("line 3:");
    expect(r.stderr).toContain("error BAD_ARGUMENTS");
    expect(r.stderr).toContain("error: BULK_FAILED: 1 of 4 containers were not enrolled");
    expect(await names()).toEqual(expect.arrayContaining(["mx-1", "mx-2", "mx-3"]));
  });

  test("on a terminal a progress bar is drawn on stderr instead of one line each", async () => {
    const file = join(app.dir, "tty.txt");
    writeFileSync(file, Array.from({ length: 40 }, (_, i) => `tty-${i}`).join("\n"));
    let stdout = "";
    let stderr = "";
    const code = await runCli(["--admin-socket", app.adminSocket, "enroll", "--from", file], {
      streams: {
        stdout: (s) => {
          stdout += s;
        },
        stderr: (s) => {
          stderr += s;
        },
        stderrIsTTY: true,
      },
      env: {},
    });
    expect(code).toBe(0);
    expect(stdout.trim()).toBe("40 of 40 enrolled, 0 failed");
    expect(stderr).toContain("\r\x1b[2K[");
    expect(stderr).toContain(`[${"#".repeat(30)}] 40/40 100%`);
    expect(stderr.endsWith("\n")).toBe(true);
  });
});

describe("runtime sockets that fail for real: nothing is enrolled", () => {
  test("no socket at the path: RUNTIME_UNAVAILABLE, exit 7", async () => {
    const r = await cli([
      "--json",
      "enroll",
      "rs-1",
      "--runtime",
      "docker",
      "--runtime-socket",
      join(app.dir, "none.sock"),
    ]);
    expect([r.code, r.json.error.code]).toEqual([7, "RUNTIME_UNAVAILABLE"]);
    expect(r.json.error.message).toContain("no socket there");
    expect(await names()).not.toContain("rs-1");
  });

  test("a socket file nobody listens on: connection refused", async () => {
    const dead = join(app.dir, "dead.sock");
    writeFileSync(dead, ""); // connect(2) on a file that is not a listening socket: ECONNREFUSED
    const r = await cli(["--json", "enroll", "rs-2", "--runtime", "incus", "--runtime-socket", dead]);
    expect([r.code, r.json.error.code]).toEqual([7, "RUNTIME_UNAVAILABLE"]);
    expect(r.json.error.message).toContain("connection refused");
    expect(await names()).not.toContain("rs-2");
  });

  const canDropPrivileges = process.getuid?.() === 0 && Bun.which("setpriv") !== null;
  test.skipIf(!canDropPrivileges)(
    "a root-only socket as an unprivileged user: RUNTIME_PERMISSION_DENIED",
    async () => {
      const path = join(app.dir, "docker.sock");
      const listener: UnixSocketListener<undefined> = Bun.listen({ unix: path, socket: { data() {} } });
      try {
        chmodSync(path, 0o600); // as dockerd's socket is to users outside the docker group
        chmodSync(app.dir, 0o755);
        const r = await cli(["--json", "enroll", "rs-3", "--runtime", "docker", "--runtime-socket", path], {
          wrap: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
        });
        expect([r.code, r.json?.error.code]).toEqual([7, "RUNTIME_PERMISSION_DENIED"]);
        expect(r.json.error.message).toContain("permission denied");
        expect(r.json.error.hint).toContain("run as root or as a member of its group");
        expect(await names()).not.toContain("rs-3");
      } finally {
        listener.stop(true);
      }
    },
  );
});
