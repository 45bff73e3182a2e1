import type { MessageName, Request, Response } from "../../../protocol/messages.ts";
import type { Services } from "../services.ts";
import type { Session } from "../session.ts";

export type Handler<N extends MessageName> = (
  session: Session,
  request: Request<N>,
  services: Services,
) => Response<N> | Promise<Response<N>>;
