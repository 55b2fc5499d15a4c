import type { Context } from "hono";
import type { AppDeps } from "../deps.ts";

export const healthzRoute = () => (c: Context) => c.json({ status: "ok" });

/** 200 when config, policies and signing keys are loaded; the body lists every component, Redis included. */
export function readyzRoute(deps: AppDeps) {
  return (c: Context) => {
    const r = deps.readiness();
    return c.json({ status: r.ready ? "ready" : "not_ready", components: r.components }, r.ready ? 200 : 503);
  };
}

export function metricsRoute(deps: AppDeps) {
  return async (c: Context) => {
    const body = await deps.metrics.registry.metrics();
    return c.body(body, 200, { "Content-Type": deps.metrics.registry.contentType });
  };
}
