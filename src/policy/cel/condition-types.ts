/** `request` as a condition sees it. An empty or absent `sourceIp` is unknown: `has(request.sourceIp)` is false. */
export interface ConditionRequest {
  audience: string;
  /** null (the request named none) binds as an empty list. */
  scopes: readonly string[] | null;
  sourceIp?: string | undefined;
}

export interface ConditionInput {
  /** The verified token's payload (JSON values). */
  claims: Readonly<Record<string, unknown>>;
  /** An actor condition's view of the subject token's claims (CONTRACT §9). */
  subject?: Readonly<Record<string, unknown>> | undefined;
  request: ConditionRequest;
  now: Date;
}

/** `ok` only when the condition evaluated to `true`; `error` says why it could not (never a claim value). */
export interface ConditionResult {
  ok: boolean;
  error?: string;
}

export interface CompiledCondition {
  readonly source: string;
  /** Never throws: a runtime error (missing key, wrong type, budget) is a non-match. */
  evaluate(input: ConditionInput): ConditionResult;
}
