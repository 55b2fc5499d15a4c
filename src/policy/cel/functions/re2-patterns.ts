import { RE2JS } from "re2js";

/** Compiled `matches` patterns of one environment; a pattern may come from a claim, so the cache is bounded. */
const MAX_CACHED_PATTERNS = 256;

/** The `re2` option of celEnv: CEL `matches` is a partial match (RE2 semantics, linear time). */
export function re2Patterns() {
  const patterns = new Map<string, RE2JS>();
  return {
    compile(pattern: string) {
      let re = patterns.get(pattern);
      if (!re) {
        if (patterns.size >= MAX_CACHED_PATTERNS) patterns.clear();
        re = RE2JS.compile(pattern);
        patterns.set(pattern, re);
      }
      const compiled = re;
      return { test: (text: string) => compiled.test(text) };
    },
  };
}
