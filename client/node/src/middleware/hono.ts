// Per-route throttling for Hono: Checks a policy for each request and
// answers 429 with Retry-After and the RateLimit headers when denied; the
// headers go on allowed answers too. The default key is the peer address
// under @hono/node-server; on other runtimes pass `key`.

import { IncomingMessage } from "node:http";
import type { Context, MiddlewareHandler } from "hono";
import { checkHttp, type MiddlewareOptions, routeContext } from "./headers.js";

function peerAddress(env: unknown): string {
  if (env !== null && typeof env === "object" && "incoming" in env) {
    const incoming: unknown = env.incoming;
    if (incoming instanceof IncomingMessage) return incoming.socket.remoteAddress ?? "";
  }
  return "";
}

function defaultKey(context: Context): Record<string, string> {
  return { ip: peerAddress(context.env) };
}

function defaultContext(context: Context): Record<string, string> {
  return routeContext(context.req.method, context.req.path);
}

export function honoMiddleware(options: MiddlewareOptions<Context>): MiddlewareHandler {
  if (typeof options.policy !== "string" || options.policy === "") {
    throw new TypeError("honoMiddleware option policy: must be a non-empty string");
  }
  return async (context, next) => {
    const { answer } = await checkHttp(options, context, defaultKey, defaultContext);
    if (!answer.allowed) {
      return context.text(
        answer.status === 429 ? "Too Many Requests\n" : "Service Unavailable\n",
        answer.status === 429 ? 429 : 503,
        { ...answer.headers },
      );
    }
    await next();
    for (const [name, value] of Object.entries(answer.headers)) context.res.headers.set(name, value);
    return undefined;
  };
}
