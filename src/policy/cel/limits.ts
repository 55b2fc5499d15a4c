/** Load-time and run-time bounds of a condition (CONTRACT §5). */
export const CONDITION_LIMITS = {
  /** UTF-8 bytes of source text. */
  maxSourceBytes: 4096,
  /** Nesting of (), [] and {} in the source, checked before parsing (the parser is recursive). */
  maxNesting: 32,
  /** AST nodes after macro expansion (`all`, `exists`, … expand to ~8 nodes each). */
  maxNodes: 512,
  /** AST depth after macro expansion. */
  maxDepth: 64,
  /**
   * Cost units one evaluation may spend. A comprehension iteration costs the node count of its body; a
   * size-dependent operation costs 1 + its operands' size (list/map entries, string length / 64).
   */
  budget: 100_000,
} as const;
