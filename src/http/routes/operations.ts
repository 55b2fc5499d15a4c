import type { Context } from "hono";
import type { AppDeps, AppEnv } from "../deps.ts";
import { json, respond } from "../respond.ts";

export const healthzRoute = () => (c: Context<AppEnv>) => json(c, { status: "ok" });

/** 200 when config, policies and signing keys are loaded; the body lists every component, Redis included. */
export function readyzRoute(deps: AppDeps) {
  return (c: Context<AppEnv>) => {
    const r = deps.readiness();
    return json(
      c,
      { status: r.ready ? "ready" : "not_ready", components: r.components },
      r.ready ? 200 : 503,
    );
  };
}

export function metricsRoute(deps: AppDeps) {
  return async (c: Context<AppEnv>) => {
    const body = await deps.metrics.registry.metrics();
    return respond(c, body, 200, { "Content-Type": deps.metrics.registry.contentType });
  };
}
