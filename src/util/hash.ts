import { hash } from "node:crypto";

/**
 * SHA-256 as hex: how tokens appear in audit events and replay keys (never the token itself). The one-shot
 * `crypto.hash` (Node ≥ 21.7) skips the Hash object that `createHash().update().digest()` builds per call.
 */
export const sha256Hex = (text: string): string => hash("sha256", text, "hex");
