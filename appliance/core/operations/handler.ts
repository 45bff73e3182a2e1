import type { MessageName, Request, Response } from "../../../protocol/messages.ts";
import type { HashInput } from "../crypto/hash.ts";
import type { Services } from "../services.ts";
import type { Session } from "../session.ts";

export type Handler<N extends MessageName> = (
  session: Session,
  request: Request<N>,
  services: Services,
) => Response<N> | Promise<Response<N>>;

/**
 * A handler that also takes its request's last field, `data`, scattered over the pieces the body
 * arrived in (SPLIT_OPERATIONS in index.ts): it feeds the data to a hash and copies nothing.
 */
export type SplitHandler<N extends MessageName> = (
  session: Session,
  request: Omit<Request<N>, "data"> & { data: HashInput },
  services: Services,
) => Response<N> | Promise<Response<N>>;
