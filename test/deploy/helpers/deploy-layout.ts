import { join, resolve } from "node:path";

/** Where the deployment artefacts live, and what they must agree on with the broker. */
export const ROOT = resolve(import.meta.dirname, "../../..");
export const DEPLOY = join(ROOT, "deploy");
export const K8S_DIR = join(DEPLOY, "kubernetes");
export const BROKER_PORT = 8080;
export const BROKER_IMAGE = "wif-broker";
/** The broker's own budget after SIGTERM before it forces exit (SHUTDOWN_GRACE_MS in src/cli/serve.ts). */
export const BROKER_DRAIN_SECONDS = 25;
