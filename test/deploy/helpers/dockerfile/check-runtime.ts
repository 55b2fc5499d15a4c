import { BROKER_PORT } from "../deploy-layout.ts";
import type { Fail } from "../fail-into.ts";
import { execForm, type Instruction } from "./parse.ts";

/** The final stage: non-root USER, a curl-free HEALTHCHECK on /healthz, EXPOSE, exec-form ENTRYPOINT and CMD. */
export function checkRuntimeStage(body: readonly Instruction[], fail: Fail): void {
  const last = (kw: string): Instruction | undefined => body.filter((i) => i.keyword === kw).pop();
  const user = last("USER")?.args.split(":")[0];
  if (user === undefined || user === "" || user === "0" || user === "root") {
    fail(`Dockerfile: the final stage must switch to a non-root USER (is ${String(user)})`);
  }
  const hc = last("HEALTHCHECK")?.args ?? "";
  if (!/\bCMD\b/.test(hc) || !hc.includes("/healthz") || /^NONE\b/.test(hc)) {
    fail("Dockerfile: the final stage needs a HEALTHCHECK CMD probing /healthz");
  }
  const hcCmd = /\bCMD\s+(.*)$/s.exec(hc)?.[1] ?? "";
  if (hcCmd.startsWith("[") && !execForm(hcCmd))
    fail("Dockerfile: HEALTHCHECK CMD exec form is not valid JSON");
  if (/\b(curl|wget)\b/.test(hc))
    fail("Dockerfile: HEALTHCHECK must not need curl or wget (absent from slim images)");
  if (!hc.includes(String(BROKER_PORT))) fail(`Dockerfile: HEALTHCHECK must probe port ${BROKER_PORT}`);
  const exposed = body.filter((i) => i.keyword === "EXPOSE").flatMap((i) => i.args.split(/\s+/));
  if (!exposed.some((p) => p === String(BROKER_PORT) || p === `${BROKER_PORT}/tcp`)) {
    fail(`Dockerfile: EXPOSE ${BROKER_PORT} missing in the final stage`);
  }
  const entrypoint = execForm(last("ENTRYPOINT")?.args ?? "");
  if (entrypoint?.[0] !== "node" || !entrypoint.includes("dist/cli/main.js")) {
    fail('Dockerfile: ENTRYPOINT must be the exec form ["node", "dist/cli/main.js"] (signals reach node)');
  }
  const cmd = execForm(last("CMD")?.args ?? "");
  if (cmd?.[0] !== "serve") fail('Dockerfile: CMD must be ["serve", …]');
}
