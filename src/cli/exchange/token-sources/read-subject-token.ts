import type { Http } from "../http.ts";
import type { ExchangeOptions } from "../options.ts";
import { gcpMetadataToken } from "./gcp-metadata.ts";
import { githubActionsToken } from "./github-actions.ts";
import { idTokenAudience } from "./id-token-audience.ts";
import { tokenFromEnv, tokenFromFile } from "./local-token.ts";

/** This workload's identity token from the source the command line named; request credentials go to `secrets`. */
export async function readSubjectToken(
  o: ExchangeOptions,
  env: NodeJS.ProcessEnv,
  http: Http,
  secrets: string[],
): Promise<string> {
  const s = o.source;
  switch (s.kind) {
    case "file":
      return tokenFromFile(s.path, "--token-file");
    case "k8s":
      return tokenFromFile(
        s.path,
        "--k8s",
        "mount a projected serviceAccountToken volume whose audience is the broker's issuer",
      );
    case "env":
      return tokenFromEnv(env, s.name);
    case "github-actions":
      return githubActionsToken(await idTokenAudience(o.idTokenAudience, o.broker, http), env, http, secrets);
    case "gcp-metadata":
      return gcpMetadataToken(await idTokenAudience(o.idTokenAudience, o.broker, http), env, http);
  }
}
