import { type Handler, Hono } from "hono";
import { boundedAuditSink } from "./audit/bounded.ts";
import type { AppDeps, AppEnv } from "./http/deps.ts";
import { baseResponseHeaders, json } from "./http/respond.ts";
import { jwksRoute, oauthMetadataRoute, openidConfigurationRoute } from "./http/routes/discovery.ts";
import { introspectRoute } from "./http/routes/introspect.ts";
import { healthzRoute, metricsRoute, readyzRoute } from "./http/routes/operations.ts";
import { PLAYGROUND_SCRIPT_PATH, PLAYGROUND_STYLE_PATH, playgroundRoutes } from "./http/routes/playground.ts";
import { revokeRoute } from "./http/routes/revoke.ts";
import { tokenRoute } from "./http/routes/token.ts";

/** Routes and middleware order; no I/O of its own. */
export function createApp(given: AppDeps): Hono<AppEnv> {
  // CONTRACT §7: every audit event of every route is bounded and JWT-free on its way to the sink.
  const deps: AppDeps = { ...given, audit: boundedAuditSink(given.audit) };
  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    const requestId = deps.newRequestId();
    c.set("requestId", requestId);
    c.set("responseHeaders", baseResponseHeaders(requestId, deps.shuttingDown()));
    await next();
  });

  const only = (method: "GET" | "POST", path: string, handler: Handler<AppEnv>) => {
    if (method === "GET") app.get(path, handler);
    else app.post(path, handler);
    app.all(path, (c) => {
      return json(
        c,
        {
          error: "invalid_request",
          error_description: `method not allowed (request id ${c.get("requestId")})`,
        },
        405,
        { Allow: method === "GET" ? "GET, HEAD" : "POST" },
      );
    });
  };

  only("POST", "/token", tokenRoute(deps));
  only("POST", "/introspect", introspectRoute(deps));
  only("POST", "/revoke", revokeRoute(deps));
  only("GET", "/.well-known/oauth-authorization-server", oauthMetadataRoute(deps));
  only("GET", "/.well-known/openid-configuration", openidConfigurationRoute(deps));
  only("GET", "/jwks", jwksRoute(deps));
  only("GET", "/healthz", healthzRoute());
  only("GET", "/readyz", readyzRoute(deps));
  only("GET", "/metrics", metricsRoute(deps));
  if (deps.playground) {
    const playground = playgroundRoutes(deps.issuer, deps.playground);
    only("GET", "/playground", playground.page);
    only("GET", PLAYGROUND_SCRIPT_PATH, playground.script);
    only("GET", PLAYGROUND_STYLE_PATH, playground.style);
  }

  app.notFound((c) =>
    json(
      c,
      { error: "not_found", error_description: `no such endpoint (request id ${c.get("requestId")})` },
      404,
    ),
  );
  // The one error boundary: a generic 500, never a stack trace or an upstream message.
  app.onError((err, c) => {
    deps.logger.error({ err, request_id: c.get("requestId") }, "unhandled error");
    return json(
      c,
      { error: "server_error", error_description: `internal error (request id ${c.get("requestId")})` },
      500,
    );
  });
  return app;
}
