/**
 * Globs for `match` (CONTRACT §5): `*` matches within one path segment (never '/'), `**` matches across segments,
 * `?` one character other than '/'; everything else is literal. Matching simulates the pattern as an NFA over a
 * set of positions, so it is linear in the claim's length times the pattern's (no backtracking, no regex engine,
 * a few bytes per compiled glob — 10,000 policies stay small).
 */
type Token =
  | { kind: "literal"; char: string }
  | { kind: "any-char" }
  | { kind: "star" }
  | { kind: "globstar" };

export type GlobMatcher = (text: string) => boolean;

/** Code points, not UTF-16 units: `?` matches one character, emoji included, as in the text being matched. */
function tokenize(glob: string): Token[] {
  const tokens: Token[] = [];
  const chars = [...glob];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === "*" && chars[i + 1] === "*") {
      tokens.push({ kind: "globstar" });
      while (chars[i + 1] === "*") i++;
    } else if (c === "*") tokens.push({ kind: "star" });
    else if (c === "?") tokens.push({ kind: "any-char" });
    else tokens.push({ kind: "literal", char: c });
  }
  return tokens;
}

export function compileGlob(glob: string): GlobMatcher {
  const tokens = tokenize(glob);
  const n = tokens.length;
  /** Adds position `p` and, through stars (which may match nothing), every position after it. */
  const close = (set: Uint8Array, p: number) => {
    let q = p;
    while (q <= n && !set[q]) {
      set[q] = 1;
      const t = tokens[q];
      if (t === undefined || (t.kind !== "star" && t.kind !== "globstar")) break;
      q++;
    }
  };
  return (text) => {
    let current = new Uint8Array(n + 1);
    close(current, 0);
    for (const ch of text) {
      const next = new Uint8Array(n + 1);
      let alive = false;
      for (let p = 0; p < n; p++) {
        if (!current[p]) continue;
        const t = tokens[p] as Token;
        if (t.kind === "globstar" || (t.kind === "star" && ch !== "/")) {
          close(next, p); // the star consumes ch and stays
          alive = true;
        } else if ((t.kind === "any-char" && ch !== "/") || (t.kind === "literal" && t.char === ch)) {
          close(next, p + 1);
          alive = true;
        }
      }
      if (!alive) return false;
      current = next;
    }
    return current[n] === 1;
  };
}
