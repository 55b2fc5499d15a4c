/** `--format`: the form the caller's tooling reads the credential in. */
export const FORMATS = [
  "json",
  "token",
  "env",
  "credential-process",
  "kubectl",
  "pg-env",
  "mysql-env",
  "uri",
] as const;
export type Format = (typeof FORMATS)[number];

export const isFormat = (f: string): f is Format => (FORMATS as readonly string[]).includes(f);
