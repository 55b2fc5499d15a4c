/** A condition that does not parse, does not type-check or exceeds the static limits. */
export class ConditionError extends Error {
  override name = "ConditionError";
  /** 1-based position in the source, when the error has one. */
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(message: string, position?: { line: number; column: number }) {
    super(position ? `line ${position.line}, column ${position.column}: ${message}` : message);
    this.line = position?.line;
    this.column = position?.column;
  }
}
