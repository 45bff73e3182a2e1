/**
 * The admin API: HTTP + JSON on `<run-dir>/admin.sock` (mode 0600, root only).
 *
 *   GET    /health
 *   GET    /v1/status
 *   GET    /v1/stats                                                           metrics snapshot (dashboard)
 *   GET    /metrics                                                            Prometheus text
 *   GET    /v1/audit                                                           audit log state
 *   POST   /v1/audit/rotate                                                    rotate the audit log
 *   POST   /v1/backup                                     {path}               consistent online snapshot
 *   GET    /v1/containers
 *   POST   /v1/containers                                 {name, uid?, gid?}   enroll (idempotent)
 *   DELETE /v1/containers/:name[?wipe=true]                                     revoke (wipe destroys keys)
 *   GET    /v1/containers/:name/keys                                           key metadata and use counts
 *   GET    /v1/containers/:name/users
 *   POST   /v1/containers/:name/users                     {name, pin} | {name, service: true}
 *   DELETE /v1/containers/:name/users/:user[?confirm=true]
 *   POST   /v1/containers/:name/users/:user/unlock
 *   POST   /v1/containers/:name/users/:user/reset-pin     {pin, destroyKeys: true}
 */
import type { z } from "zod";
import { Status, VhsmError } from "../../../protocol/status.ts";
import type { Logger } from "../log.ts";
import type { AdminActions } from "./actions.ts";
import { errorResponse } from "./errors.ts";
import { BackupBody, EnrollBody, ResetPinBody, UserAddBody } from "./schemas.ts";

async function body<T>(req: Request, schema: z.ZodType<T>): Promise<T> {
  let json: unknown;
  try {
    json = await req.json();
  } catch {
    throw new VhsmError(Status.BAD_ARGUMENTS, "the request body is not valid JSON");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? issue.path.join(".") : "body";
    throw new VhsmError(Status.BAD_ARGUMENTS, `${where}: ${issue.message}`);
  }
  return parsed.data;
}

export function adminHandler(actions: AdminActions, log: Logger): (req: Request) => Promise<Response> {
  return async (req) => {
    let response: Response;
    try {
      response = await route(req, actions);
    } catch (err) {
      response = errorResponse(err, log);
    }
    if (req.method !== "GET") {
      // every admin action is audited: what was asked and how it ended (never bodies: they hold PINs)
      const path = new URL(req.url).pathname;
      actions.recordAdmin(`${req.method} ${path}`, response.status < 300 ? "OK" : await errorCode(response));
    }
    return response;
  };
}

async function errorCode(response: Response): Promise<string> {
  try {
    return (
      ((await response.clone().json()) as { error?: { code?: string } }).error?.code ??
      String(response.status)
    );
  } catch {
    return String(response.status);
  }
}

async function route(req: Request, a: AdminActions): Promise<Response> {
  const url = new URL(req.url);
  const parts = url.pathname.split("/").filter(Boolean).map(decodePathPart);
  const method = req.method;
  const flag = (name: string) => url.searchParams.get(name) === "true";

  if (parts.length === 1 && parts[0] === "health" && method === "GET") return Response.json(a.health());
  if (parts[0] === "metrics" && parts.length === 1 && method === "GET") {
    return new Response(a.prometheus(), { headers: { "content-type": "text/plain; version=0.0.4" } });
  }
  if (parts[0] !== "v1") return notFound(url.pathname);
  const [, resource, name, sub, user, action] = parts;

  if (resource === "status" && parts.length === 2 && method === "GET") return Response.json(a.status());
  if (resource === "audit" && parts.length === 2 && method === "GET") return Response.json(a.auditState());
  if (resource === "audit" && name === "rotate" && parts.length === 3 && method === "POST") {
    return Response.json(a.rotateAudit());
  }
  if (resource === "backup" && parts.length === 2 && method === "POST") {
    const b = await body(req, BackupBody);
    return Response.json(await a.backup(b.path), { status: 201 });
  }
  if (resource === "stats" && parts.length === 2 && method === "GET") return Response.json(a.stats());
  if (resource !== "containers") return notFound(url.pathname);

  if (parts.length === 2) {
    if (method === "GET") return Response.json(a.listContainers());
    if (method === "POST") {
      const b = await body(req, EnrollBody);
      const result = a.enroll(b.name, b.uid ?? null, b.gid ?? null);
      return Response.json(result, { status: result.changed ? 201 : 200 });
    }
  }
  if (parts.length === 3 && name) {
    if (method === "GET") return Response.json(a.container(name));
    if (method === "DELETE") return Response.json(a.revoke(name, flag("wipe")));
  }
  if (sub === "keys" && name && parts.length === 4 && method === "GET")
    return Response.json(a.listKeys(name));
  if (sub === "users" && name) {
    if (parts.length === 4) {
      if (method === "GET") return Response.json(a.listUsers(name));
      if (method === "POST") {
        const b = await body(req, UserAddBody);
        const created = b.service ? a.addServiceUser(name, b.name) : await a.addUser(name, b.name, b.pin!);
        return Response.json(created, { status: 201 });
      }
    }
    if (parts.length === 5 && user && method === "DELETE")
      return Response.json(a.removeUser(name, user, flag("confirm")));
    if (parts.length === 6 && user && method === "POST") {
      if (action === "unlock") return Response.json(a.unlockUser(name, user));
      if (action === "reset-pin") {
        const b = await body(req, ResetPinBody);
        return Response.json(await a.resetPin(name, user, b.pin, b.destroyKeys === true));
      }
    }
  }
  return notFound(url.pathname, method);
}

function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new VhsmError(Status.BAD_ARGUMENTS, "the request path has broken percent-encoding");
  }
}

function notFound(path: string, method?: string): Response {
  return errorResponse(
    new VhsmError(
      Status.BAD_ARGUMENTS,
      `no admin endpoint ${method ? `${method} ` : ""}${path}; see docs/admin-api.md`,
    ),
  );
}
