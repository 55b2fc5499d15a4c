/** Deepest bracket nesting outside string literals and comments. */
export function nesting(source: string): number {
  let depth = 0;
  let max = 0;
  let i = 0;
  while (i < source.length) {
    const c = source[i] ?? "";
    if (c === "/" && source[i + 1] === "/") {
      const end = source.indexOf("\n", i);
      i = end === -1 ? source.length : end;
      continue;
    }
    if (c === '"' || c === "'") {
      const raw = /[rR]/.test(source[i - 1] ?? "") && !/[\w]/.test(source[i - 2] ?? "");
      const quote = source.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      i += quote.length;
      while (i < source.length && !source.startsWith(quote, i)) i += !raw && source[i] === "\\" ? 2 : 1;
      i += quote.length;
      continue;
    }
    if (c === "(" || c === "[" || c === "{") max = Math.max(max, ++depth);
    else if (c === ")" || c === "]" || c === "}") depth = Math.max(0, depth - 1);
    i++;
  }
  return max;
}
