/**
 * `enroll --runtime`: the runtimes' HTTP APIs are mocked with msw 2 (Docker Engine API v1.43 and
 * Incus REST response shapes); the appliance is real. The CLI runs in-process so msw can intercept
 * the runtime's fetch, while the admin client keeps the real fetch (captured before msw patches it).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { dirname } from "node:path";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { runCli } from "../provision/cli.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";

const realFetch = globalThis.fetch;
const server = setupServer();
let app: TestAppliance;

beforeAll(async () => {
  app = await startTestAppliance();
  server.listen({ onUnhandledRequest: "error" });
});
afterEach(() => server.resetHandlers());
afterAll(async () => {
  server.close();
  await app?.dispose();
});

async function cli(args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(["--admin-socket", app.adminSocket, ...args], {
    streams: {
      stdout: (s) => {
        stdout += s;
      },
      stderr: (s) => {
        stderr += s;
      },
      stderrIsTTY: false,
    },
    env: {},
    adminFetch: (url, init) => realFetch(url, init),
  });
  let json: any = null;
  try {
    json = JSON.parse(stdout);
  } catch {}
  return { code, stdout, stderr, json };
}

const admin = async (path: string) => {
  const r = await realFetch(`http://localhost${path}`, { unix: app.adminSocket } as RequestInit);
  return { status: r.status, json: (await r.json()) as any };
};
const enrolled = async (name: string) =>
  (await admin("/v1/containers")).json.some((c: any) => c.name === name);
const socketDirOf = (name: string) => dirname(app.socketOf(name));

/** A ContainerInspectResponse as Docker Engine API v1.43 returns it (abridged to realistic fields). */
function dockerInspect(name: string, o: { running?: boolean; mountedAt?: string; id?: string } = {}) {
  const id = o.id ?? "4fa6e0f0c6786287e131c3852c58a2e01cc697a68231826813597e4994f1d6e2";
  return {
    Id: id,
    Created: "2024-05-02T09:12:44.123456789Z",
    Path: "nginx",
    Args: ["-g", "daemon off;"],
    State: {
      Status: o.running === false ? "exited" : "running",
      Running: o.running !== false,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: o.running === false ? 0 : 4312,
      ExitCode: 0,
      Error: "",
      StartedAt: "2024-05-02T09:12:45.001Z",
      FinishedAt: "0001-01-01T00:00:00Z",
    },
    Image: "sha256:a8758716bb6aa4d90071160d27028fe4eaee7ce8166221a97d30440c8eac2be6",
    Name: `/${name}`,
    RestartCount: 0,
    Driver: "overlay2",
    Platform: "linux",
    HostConfig: {
      Binds: ["/srv/www:/usr/share/nginx/html:ro"],
      NetworkMode: "appnet",
      PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "8080" }] },
      RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
      AutoRemove: false,
      Mounts: o.mountedAt ? [{ Type: "bind", Source: o.mountedAt, Target: "/run/vhsm" }] : null,
      Memory: 268435456,
      LogConfig: { Type: "json-file", Config: {} },
    },
    Mounts: [
      {
        Type: "bind",
        Source: "/srv/www",
        Destination: "/usr/share/nginx/html",
        Mode: "ro",
        RW: false,
        Propagation: "rprivate",
      },
      ...(o.mountedAt
        ? [
            {
              Type: "bind",
              Source: o.mountedAt,
              Destination: "/run/vhsm",
              Mode: "",
              RW: true,
              Propagation: "rprivate",
            },
          ]
        : []),
    ],
    Config: {
      Hostname: id.slice(0, 12),
      Domainname: "",
      User: "",
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ExposedPorts: { "80/tcp": {} },
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "APP_MODE=production"],
      Cmd: ["nginx", "-g", "daemon off;"],
      Image: "nginx:1.25",
      Volumes: null,
      WorkingDir: "",
      Entrypoint: ["/docker-entrypoint.sh"],
      Labels: { "com.example.team": "web" },
      StopSignal: "SIGQUIT",
    },
    NetworkSettings: {
      Networks: {
        appnet: {
          IPAMConfig: null,
          Links: null,
          Aliases: ["web-alias", id.slice(0, 12)],
          NetworkID: "7d5e9f0c2b1a",
          EndpointID: "f1e2d3c4b5a6",
          Gateway: "172.18.0.1",
          IPAddress: "172.18.0.2",
          IPPrefixLen: 16,
          MacAddress: "02:42:ac:12:00:02",
          DriverOpts: null,
        },
      },
    },
  };
}

const noSuchContainer = (name: string) =>
  HttpResponse.json({ message: `No such container: ${name}` }, { status: 404 });

describe("docker", () => {
  test("a container not created yet: enrolled, and the exact --mount flag for docker run", async () => {
    server.use(
      http.get("http://docker/v1.43/containers/:name/json", ({ params }) =>
        noSuchContainer(String(params.name)),
      ),
    );
    const r = await cli(["--json", "enroll", "d-new", "--runtime", "docker"]);
    expect(r.code).toBe(0);
    expect(r.json.mount).toMatchObject({
      runtime: "docker",
      state: "not-created",
      containerPath: "/run/vhsm",
    });
    expect(r.json.mount.hostPath).toBe(socketDirOf("d-new"));
    expect(r.json.mount.steps.join("\n")).toContain(
      `docker run --name d-new --mount type=bind,src=${socketDirOf("d-new")},dst=/run/vhsm`,
    );
    expect(await enrolled("d-new")).toBe(true);
  });

  test("an existing container without the mount: explains and offers --recreate", async () => {
    server.use(
      http.get("http://docker/v1.43/containers/d-old/json", () => HttpResponse.json(dockerInspect("d-old"))),
    );
    const r = await cli(["enroll", "d-old", "--runtime", "docker"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("docker cannot add a mount to an existing container (d-old is running)");
    expect(r.stdout).toContain(`--mount type=bind,src=${socketDirOf("d-old")},dst=/run/vhsm`);
    expect(r.stdout).toContain("--recreate");
    expect(await enrolled("d-old")).toBe(true);
  });

  test("already mounted: nothing to do, nothing recreated", async () => {
    const dir = socketDirOf("d-ok");
    server.use(
      http.get("http://docker/v1.43/containers/d-ok/json", () =>
        HttpResponse.json(dockerInspect("d-ok", { mountedAt: dir })),
      ),
    );
    const r = await cli(["--json", "enroll", "d-ok", "--runtime", "docker", "--recreate"]);
    expect(r.code).toBe(0);
    expect(r.json.mount.state).toBe("already-mounted");
  });

  test("--recreate: same config plus the mount; stop, rename, create, start in that order", async () => {
    const calls: string[] = [];
    let createBody: any = null;
    let createName = "";
    const inspect = dockerInspect("d-re");
    server.use(
      http.get("http://docker/v1.43/containers/d-re/json", () => HttpResponse.json(inspect)),
      http.post(`http://docker/v1.43/containers/${inspect.Id}/stop`, () => {
        calls.push("stop");
        return new HttpResponse(null, { status: 204 });
      }),
      http.post(`http://docker/v1.43/containers/${inspect.Id}/rename`, ({ request }) => {
        calls.push(`rename ${new URL(request.url).searchParams.get("name")}`);
        return new HttpResponse(null, { status: 204 });
      }),
      http.post("http://docker/v1.43/containers/create", async ({ request }) => {
        createName = new URL(request.url).searchParams.get("name") ?? "";
        createBody = await request.json();
        calls.push("create");
        return HttpResponse.json({ Id: "9c1b2a3d4e5f", Warnings: [] }, { status: 201 });
      }),
      http.post("http://docker/v1.43/containers/9c1b2a3d4e5f/start", () => {
        calls.push("start new");
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const r = await cli(["--json", "enroll", "d-re", "--runtime", "docker", "--recreate"]);
    expect(r.code).toBe(0);
    expect(calls[0]).toBe("stop");
    expect(calls[1]).toMatch(/^rename d-re-pre-vhsm-[a-z0-9]+$/);
    expect(calls.slice(2)).toEqual(["create", "start new"]);
    expect(createName).toBe("d-re");
    expect(r.json.mount).toMatchObject({ state: "mounted" });
    expect(r.json.mount.details).toMatchObject({ newId: "9c1b2a3d4e5f", started: true });
    // the configuration survives
    expect(createBody).toMatchObject({
      Image: "nginx:1.25",
      Cmd: ["nginx", "-g", "daemon off;"],
      Entrypoint: ["/docker-entrypoint.sh"],
      Env: inspect.Config.Env,
      Labels: { "com.example.team": "web" },
      ExposedPorts: { "80/tcp": {} },
      StopSignal: "SIGQUIT",
      HostConfig: {
        Binds: ["/srv/www:/usr/share/nginx/html:ro"],
        PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "8080" }] },
        RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
        Memory: 268435456,
        NetworkMode: "appnet",
      },
    });
    expect(createBody.HostConfig.Mounts).toEqual([
      { Type: "bind", Source: socketDirOf("d-re"), Target: "/run/vhsm", ReadOnly: false },
    ]);
    // runtime state is not copied: no old hostname (the short id), no old IP, no stale alias
    expect(createBody.Hostname).toBeUndefined();
    expect(createBody.NetworkingConfig).toEqual({ EndpointsConfig: { appnet: { Aliases: ["web-alias"] } } });
  });

  test("--recreate on a stopped container leaves the copy stopped", async () => {
    const calls: string[] = [];
    const inspect = dockerInspect("d-stopped", { running: false, id: "aa".repeat(32) });
    server.use(
      http.get("http://docker/v1.43/containers/d-stopped/json", () => HttpResponse.json(inspect)),
      http.post(`http://docker/v1.43/containers/${inspect.Id}/rename`, () => {
        calls.push("rename");
        return new HttpResponse(null, { status: 204 });
      }),
      http.post("http://docker/v1.43/containers/create", () => {
        calls.push("create");
        return HttpResponse.json({ Id: "bb".repeat(32), Warnings: [] }, { status: 201 });
      }),
    );
    const r = await cli(["--json", "enroll", "d-stopped", "--runtime", "docker", "--recreate"]);
    expect(r.code).toBe(0);
    expect(calls).toEqual(["rename", "create"]);
    expect(r.json.mount.details.started).toBe(false);
  });

  test("--recreate whose create fails puts the old container back (rename back, start)", async () => {
    const calls: string[] = [];
    const inspect = dockerInspect("d-fail", { id: "cc".repeat(32) });
    server.use(
      http.get("http://docker/v1.43/containers/d-fail/json", () => HttpResponse.json(inspect)),
      http.post(`http://docker/v1.43/containers/${inspect.Id}/stop`, () => {
        calls.push("stop");
        return new HttpResponse(null, { status: 204 });
      }),
      http.post(`http://docker/v1.43/containers/${inspect.Id}/rename`, ({ request }) => {
        calls.push(`rename ${new URL(request.url).searchParams.get("name")}`);
        return new HttpResponse(null, { status: 204 });
      }),
      http.post("http://docker/v1.43/containers/create", () =>
        HttpResponse.json({ message: "No such image: nginx:1.25" }, { status: 404 }),
      ),
      http.post(`http://docker/v1.43/containers/${inspect.Id}/start`, () => {
        calls.push("start old");
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const r = await cli(["--json", "enroll", "d-fail", "--runtime", "docker", "--recreate"]);
    expect(r.code).toBe(7);
    expect(r.json.error.message).toContain("No such image: nginx:1.25");
    expect(r.json.error.message).toContain("the original was restored");
    expect(calls).toEqual([
      "stop",
      expect.stringMatching(/^rename d-fail-pre-vhsm-/),
      "rename d-fail",
      "start old",
    ]);
  });

  test("--recreate of a container docker does not have: RUNTIME_CONTAINER_NOT_FOUND, not enrolled", async () => {
    server.use(
      http.get("http://docker/v1.43/containers/:name/json", ({ params }) =>
        noSuchContainer(String(params.name)),
      ),
    );
    const r = await cli(["--json", "enroll", "d-ghost", "--runtime", "docker", "--recreate"]);
    expect(r.code).toBe(7);
    expect(r.json.error).toMatchObject({ code: "RUNTIME_CONTAINER_NOT_FOUND" });
    expect(r.json.error.message).toContain("No such container: d-ghost");
    expect(await enrolled("d-ghost")).toBe(false);
  });

  test("something else mounted at /run/vhsm: RUNTIME_CONFLICT, not enrolled", async () => {
    server.use(
      http.get("http://docker/v1.43/containers/d-clash/json", () =>
        HttpResponse.json(dockerInspect("d-clash", { mountedAt: "/opt/other" })),
      ),
    );
    const r = await cli(["--json", "enroll", "d-clash", "--runtime", "docker"]);
    expect([r.code, r.json.error.code]).toEqual([7, "RUNTIME_CONFLICT"]);
    expect(await enrolled("d-clash")).toBe(false);
  });

  test("daemon unreachable (network error): RUNTIME_UNAVAILABLE, not enrolled", async () => {
    server.use(http.get("http://docker/v1.43/containers/:name/json", () => HttpResponse.error()));
    const r = await cli(["enroll", "d-down", "--runtime", "docker"]);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(
      "error: RUNTIME_UNAVAILABLE: cannot reach the Docker daemon at /var/run/docker.sock",
    );
    expect(r.stderr).toContain("hint: the container runtime's API socket does not answer");
    expect(await enrolled("d-down")).toBe(false);
  });

  test("daemon answers 500: RUNTIME_ERROR with its message, not enrolled", async () => {
    server.use(
      http.get("http://docker/v1.43/containers/:name/json", () =>
        HttpResponse.json({ message: "server error: context deadline exceeded" }, { status: 500 }),
      ),
    );
    const r = await cli(["--json", "enroll", "d-500", "--runtime", "docker"]);
    expect([r.code, r.json.error.code]).toEqual([7, "RUNTIME_ERROR"]);
    expect(r.json.error.message).toContain("context deadline exceeded");
    expect(await enrolled("d-500")).toBe(false);
  });
});

describe("podman (Docker-compatible API)", () => {
  test("uses podman's socket and API, and says podman in the steps", async () => {
    server.use(http.get("http://podman/v1.43/containers/p-new/json", () => noSuchContainer("p-new")));
    const r = await cli(["--json", "enroll", "p-new", "--runtime", "podman"]);
    expect(r.code).toBe(0);
    expect(r.json.mount.steps.join("\n")).toContain(
      `podman run --name p-new --mount type=bind,src=${socketDirOf("p-new")},dst=/run/vhsm`,
    );
  });

  test("errors name podman's default socket", async () => {
    server.use(http.get("http://podman/v1.43/containers/:name/json", () => HttpResponse.error()));
    const r = await cli(["--json", "enroll", "p-down", "--runtime", "podman"]);
    expect(r.code).toBe(7);
    expect(r.json.error.message).toContain("/run/podman/podman.sock");
  });
});

/** GET /1.0/instances/{name} as Incus answers it (sync response envelope). */
function incusInstance(name: string, devices: Record<string, Record<string, string>> = {}) {
  return {
    type: "sync",
    status: "Success",
    status_code: 200,
    operation: "",
    error_code: 0,
    error: "",
    metadata: {
      architecture: "x86_64",
      config: { "image.os": "Debian", "image.release": "bookworm", "volatile.base_image": "0bd4f1c3" },
      devices,
      ephemeral: false,
      profiles: ["default"],
      stateful: false,
      description: "",
      created_at: "2024-05-02T09:12:44.123456789Z",
      expanded_config: { "image.os": "Debian" },
      expanded_devices: {
        eth0: { name: "eth0", network: "incusbr0", type: "nic" },
        root: { path: "/", pool: "default", type: "disk" },
        ...devices,
      },
      name,
      status: "Running",
      status_code: 103,
      last_used_at: "2024-05-02T09:12:45Z",
      location: "none",
      type: "container",
      project: "default",
    },
  };
}
const incusError = (code: number, error: string) =>
  HttpResponse.json(
    { type: "error", status: "", status_code: 0, operation: "", error_code: code, error, metadata: null },
    { status: code },
  );
const emptySync = () =>
  HttpResponse.json({
    type: "sync",
    status: "Success",
    status_code: 200,
    operation: "",
    error_code: 0,
    error: "",
    metadata: {},
  });

describe("incus", () => {
  test("adds a disk device: source = socket dir, path = /run/vhsm", async () => {
    let patch: any = null;
    server.use(
      http.get("http://incus/1.0/instances/i-web", () => HttpResponse.json(incusInstance("i-web"))),
      http.patch("http://incus/1.0/instances/i-web", async ({ request }) => {
        patch = await request.json();
        return emptySync();
      }),
    );
    const r = await cli(["--json", "enroll", "i-web", "--runtime", "incus"]);
    expect(r.code).toBe(0);
    expect(patch).toEqual({
      devices: { vhsm: { type: "disk", source: socketDirOf("i-web"), path: "/run/vhsm" } },
    });
    expect(r.json.mount).toMatchObject({ runtime: "incus", state: "mounted" });
    expect(await enrolled("i-web")).toBe(true);
  });

  test("waits for the operation when the daemon answers asynchronously", async () => {
    let waited = false;
    server.use(
      http.get("http://incus/1.0/instances/i-async", () => HttpResponse.json(incusInstance("i-async"))),
      http.patch("http://incus/1.0/instances/i-async", () =>
        HttpResponse.json(
          {
            type: "async",
            status: "Operation created",
            status_code: 100,
            operation: "/1.0/operations/b8d84888-1dc2-44fd-b386-7f679e171ba5",
            error_code: 0,
            error: "",
            metadata: {
              id: "b8d84888-1dc2-44fd-b386-7f679e171ba5",
              class: "task",
              status: "Running",
              status_code: 103,
            },
          },
          { status: 202 },
        ),
      ),
      http.get("http://incus/1.0/operations/b8d84888-1dc2-44fd-b386-7f679e171ba5/wait", () => {
        waited = true;
        return HttpResponse.json({
          type: "sync",
          status: "Success",
          status_code: 200,
          metadata: {
            id: "b8d84888-1dc2-44fd-b386-7f679e171ba5",
            status: "Success",
            status_code: 200,
            err: "",
          },
        });
      }),
    );
    const r = await cli(["--json", "enroll", "i-async", "--runtime", "incus"]);
    expect(r.code).toBe(0);
    expect(waited).toBe(true);
  });

  test("device already there: already-mounted, no PATCH", async () => {
    const dir = socketDirOf("i-done");
    server.use(
      http.get("http://incus/1.0/instances/i-done", () =>
        HttpResponse.json(
          incusInstance("i-done", { vhsm: { type: "disk", source: dir, path: "/run/vhsm" } }),
        ),
      ),
    );
    const r = await cli(["--json", "enroll", "i-done", "--runtime", "incus"]);
    expect(r.code).toBe(0); // a PATCH would be an unhandled request, which msw turns into an error
    expect(r.json.mount.state).toBe("already-mounted");
  });

  test("instance not found (404): RUNTIME_CONTAINER_NOT_FOUND, not enrolled", async () => {
    server.use(http.get("http://incus/1.0/instances/:name", () => incusError(404, "Instance not found")));
    const r = await cli(["--json", "enroll", "i-ghost", "--runtime", "incus"]);
    expect([r.code, r.json.error.code]).toEqual([7, "RUNTIME_CONTAINER_NOT_FOUND"]);
    expect(r.json.error.message).toContain("Instance not found");
    expect(await enrolled("i-ghost")).toBe(false);
  });

  test("not allowed (403 from the daemon): RUNTIME_PERMISSION_DENIED", async () => {
    server.use(http.get("http://incus/1.0/instances/:name", () => incusError(403, "not authorized")));
    const r = await cli(["--json", "enroll", "i-denied", "--runtime", "incus"]);
    expect([r.code, r.json.error.code]).toEqual([7, "RUNTIME_PERMISSION_DENIED"]);
    expect(await enrolled("i-denied")).toBe(false);
  });

  test("the PATCH refused: RUNTIME_ERROR with the daemon's message", async () => {
    server.use(
      http.get("http://incus/1.0/instances/i-bad", () => HttpResponse.json(incusInstance("i-bad"))),
      http.patch("http://incus/1.0/instances/i-bad", () =>
        incusError(400, 'Invalid devices: Device validation failed for "vhsm": Missing source path'),
      ),
    );
    const r = await cli(["--json", "enroll", "i-bad", "--runtime", "incus"]);
    expect([r.code, r.json.error.code]).toEqual([7, "RUNTIME_ERROR"]);
    expect(r.json.error.message).toContain("Device validation failed");
  });
});

describe("openvz and none", () => {
  test("openvz prints the mount script and the bind mount for the running container", async () => {
    const r = await cli(["--json", "enroll", "101", "--runtime", "openvz"]);
    expect(r.code).toBe(0);
    const dir = socketDirOf("101");
    expect(r.json.mount.state).toBe("manual");
    expect(r.json.mount.details.mountScript).toContain(`mount -n --bind "\${SRC}" "\${VE_ROOT}\${DST}"`);
    expect(r.json.mount.details.mountScript).toContain(`SRC=${dir}`);
    const steps = r.json.mount.steps.join("\n");
    expect(steps).toContain("/etc/vz/conf/101.mount");
    expect(steps).toContain(`mount -n --bind ${dir} /vz/root/101/run/vhsm`);
    expect(steps).toContain("vzctl restart 101");
  });

  test("none prints the host path to mount", async () => {
    const r = await cli(["enroll", "plain", "--runtime", "none"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`bind-mount ${socketDirOf("plain")} at /run/vhsm inside plain`);
  });
});
