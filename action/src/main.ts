import * as core from "@actions/core";
import { CliError } from "../../src/cli/shared.ts";
import { ActionInputError, runAction } from "./run.ts";

/**
 * Entry point of the GitHub Action (action.yml → action/dist/index.js, bundled by `npm run build:action`).
 * Failures are one line: an input or exchange error's own message, never a stack or a token.
 */
runAction({
  getInput: (name, options) => core.getInput(name, options),
  getIDToken: (audience) => core.getIDToken(audience),
  setSecret: (value) => core.setSecret(value),
  setOutput: (name, value) => core.setOutput(name, value),
  exportVariable: (name, value) => core.exportVariable(name, value),
  info: (message) => core.info(message),
}).catch((e: unknown) => {
  if (e instanceof CliError || e instanceof ActionInputError)
    core.setFailed(e.message.split("\n\n")[0] ?? "");
  else if (e instanceof Error && /^Input required and not supplied: /.test(e.message))
    core.setFailed(e.message);
  else core.setFailed("wif-broker: the exchange failed unexpectedly");
});
