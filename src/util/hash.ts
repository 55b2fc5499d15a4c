import { createHash } from "node:crypto";

/** SHA-256 as hex: how tokens appear in audit events and replay keys (never the token itself). */
export const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex");
