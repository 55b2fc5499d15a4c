/** POSIX shell single quoting: the value can contain anything, `'` included. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
