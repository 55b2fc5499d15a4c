/**
 * Translates a glob into an RE2 pattern body: `*` matches within one path segment (never '/'), `**` matches
 * across segments, `?` one non-'/' character; everything else is literal.
 */
export function globToRegexSource(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        out += ".*";
        i++;
      } else {
        out += "[^/]*";
      }
    } else if (c === "?") {
      out += "[^/]";
    } else {
      out += /[\\^$.|+()[\]{}]/.test(c) ? `\\${c}` : c;
    }
  }
  return out;
}
