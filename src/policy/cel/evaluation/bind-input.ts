import type { CelInput } from "@bufbuild/cel";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ConditionInput } from "../condition-types.ts";
import type { ConditionBindings } from "../environment.ts";
import { toCelInput } from "./to-cel-input.ts";

/** The condition's variables for one request, or why the input cannot be bound (never a claim value). */
export function bindInput({
  claims,
  subject,
  request,
  now,
}: ConditionInput): ConditionBindings | { error: string } {
  const celClaims = toCelInput(claims);
  if (!(celClaims instanceof Map)) return { error: "claims are not a JSON object" };
  const celSubject = toCelInput(subject ?? {});
  if (!(celSubject instanceof Map)) return { error: "subject claims are not a JSON object" };
  const ms = now.getTime();
  if (!Number.isFinite(ms)) return { error: "now is not a valid time" };
  const celRequest: Record<string, CelInput> = {
    audience: request.audience,
    scopes: [...(request.scopes ?? [])],
  };
  if (request.sourceIp) celRequest.sourceIp = request.sourceIp;
  return {
    claims: celClaims as ConditionBindings["claims"],
    subject: celSubject as ConditionBindings["subject"],
    request: celRequest,
    now: timestampFromMs(ms),
  };
}
