// Per-route throttling for Express (4 or 5) and any Connect-style server:
// Checks a policy for each request and answers 429 with Retry-After and the
// RateLimit headers when denied; the headers go on allowed answers too.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Result } from "../types.js";
import { checkHttp, type MiddlewareOptions, routeContext } from "./headers.js";

/** What the middleware reads of a request: Node's, plus Express's ip/path when present. */
export type ExpressRequestLike = IncomingMessage & { readonly ip?: string; readonly path?: string };

/** What the middleware writes on a response; res.locals.gatehouse gets the Result. */
export type ExpressResponseLike = ServerResponse & { locals?: Record<string, unknown> };

export type ExpressMiddleware = (
  request: ExpressRequestLike,
  response: ExpressResponseLike,
  next: (error?: unknown) => void,
) => void;

function defaultKey(request: ExpressRequestLike): Record<string, string> {
  // req.ip honours Express's "trust proxy" setting; the socket's address otherwise.
  return { ip: request.ip ?? request.socket.remoteAddress ?? "" };
}

function defaultContext(request: ExpressRequestLike): Record<string, string> {
  return routeContext(request.method, request.path ?? request.url);
}

export function expressMiddleware(options: MiddlewareOptions<ExpressRequestLike>): ExpressMiddleware {
  if (typeof options.policy !== "string" || options.policy === "") {
    throw new TypeError("expressMiddleware option policy: must be a non-empty string");
  }
  return (request, response, next) => {
    checkHttp(options, request, defaultKey, defaultContext).then(
      ({ result, answer }: { result: Result; answer: { allowed: boolean; status: number; headers: Readonly<Record<string, string>> } }) => {
        if (response.locals !== undefined) response.locals["gatehouse"] = result;
        for (const [name, value] of Object.entries(answer.headers)) response.setHeader(name, value);
        if (answer.allowed) {
          next();
          return;
        }
        response.statusCode = answer.status;
        response.setHeader("Content-Type", "text/plain; charset=utf-8");
        response.end(answer.status === 429 ? "Too Many Requests\n" : "Service Unavailable\n");
      },
      (error: unknown) => next(error),
    );
  };
}
