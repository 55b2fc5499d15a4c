/** A JSON object (or any non-null object) whose members can be read without trusting their types. */
export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
