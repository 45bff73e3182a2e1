/** The one place that talks to the appliance's admin API: HTTP + JSON over `admin.sock`. */
import { ProvisionError } from "./errors.ts";
import type { FetchFn } from "./runtimes/transport.ts";

export const DEFAULT_ADMIN_SOCKET = "/run/vhsm/admin.sock";

export function adminSocketFrom(flag: string | undefined): string {
  return flag ?? process.env.VHSM_ADMIN_SOCKET ?? DEFAULT_ADMIN_SOCKET;
}

/** What a failed `fetch` over a Unix socket means for an operator (Bun reports the errno as `code`). */
export function socketFailure(code: unknown): string {
  if (code === "ENOENT") return "no socket there";
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  return String(code ?? "unknown error");
}

export class AdminClient {
  /** `fetchFn` is injectable so in-process tests can keep the real fetch while msw patches the global one. */
  constructor(
    readonly socket: string,
    private readonly fetchFn: FetchFn = (url, init) => fetch(url, init),
  ) {}

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await this.fetchFn(`http://vhsm-admin${path}`, {
        method,
        unix: this.socket,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      } as RequestInit);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new ProvisionError(
        "CONNECTION_FAILED",
        `cannot reach the appliance's admin socket ${this.socket}: ${socketFailure(code)}`,
        code === "EACCES"
          ? "the admin socket is root-only (mode 0600); run vhsm-provision as root"
          : "is the appliance running? point at its socket with --admin-socket or VHSM_ADMIN_SOCKET",
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ProvisionError(
        "INTERNAL",
        `the admin API answered ${res.status} with non-JSON: ${text.slice(0, 200)}`,
      );
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string } }).error;
      throw new ProvisionError(e?.code ?? "INTERNAL", e?.message ?? `admin API answered HTTP ${res.status}`);
    }
    return json as T;
  }
}

/** Path segment, escaped: names are validated by the appliance, but never trusted to be URL-safe. */
export const seg = (s: string) => encodeURIComponent(s);
